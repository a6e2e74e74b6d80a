# Pester 5 Should operators for adapter acceptance suites: -ChangeOnlyTokens, -PredictToken and -LowerLossThan.
# A nested module of TrainableTokens, so they exist whenever the module does. They are registered with Pester's
# Add-ShouldOperator now if Pester is loaded, and otherwise the first time Should is looked up after Pester loads
# (PowerShell has no "module imported" event; a command-lookup hook is the one place that sees Pester arrive). A
# re-imported Pester (Import-Module Pester -Force) forgets custom operators; the same hook registers them again.
Set-StrictMode -Version Latest

# What a value in a Should pipeline names: an adapter folder (a path, Get-TokenAdapter's result, Start-TokenTraining's
# result), or a model folder. Returns @{ Adapter; Model } with full paths (Adapter is $null for a model folder).
function Resolve-TokenSubject {
    param($Value, [string] $BaseModel, [string] $What)
    $item = if ($Value -is [psobject]) { $Value.psobject.BaseObject } else { $Value }
    $path = $null
    if ($item -is [string]) { $path = $item }
    elseif ($item -is [System.IO.FileSystemInfo]) { $path = $item.FullName }
    else {
        foreach ($name in 'AdapterFolder', 'Path', 'OutputPath', 'FullName') {
            $property = $Value.psobject.Properties[$name]
            if ($property -and $property.Value) { $path = [string]$property.Value; break }
        }
    }
    if (-not $path) {
        throw "Should -$What needs an adapter or model folder as the actual value (a path, Get-TokenAdapter's or Start-TokenTraining's result), but got $(if ($null -eq $item) { '$null' } else { "a $($item.GetType().Name)" })."
    }
    $full = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($path)
    $isAdapter = Test-Path -LiteralPath (Join-Path $full 'adapter_config.json')
    if (-not $isAdapter -and -not (Test-Path -LiteralPath (Join-Path $full 'config.json'))) {
        throw "Should -${What}: '$full' is neither an adapter folder (adapter_config.json) nor a model folder (config.json)."
    }
    $model = if ($BaseModel) { $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($BaseModel) } else { $null }
    [pscustomobject]@{ Adapter = $(if ($isAdapter) { $full }); Model = $(if ($isAdapter) { $model } else { $full }); Base = $model; Path = $full }
}

function Format-TokenBecause([string] $Because) {
    if ([string]::IsNullOrWhiteSpace($Because)) { return '' }
    " because $($Because.Trim() -replace '^because\s+')"
}

function Format-TokenIds($Ids) { '{' + ((@($Ids) | ForEach-Object { [string]$_ }) -join ', ') + '}' }

function Invoke-TokenCommand([scriptblock] $Command) {
    # An engine error (an adapter for another model, say) stops the assertion with its own message.
    $ErrorActionPreference = 'Stop'
    try { & $Command }
    catch { throw $_.Exception.Message }
}

function ShouldChangeOnlyTokens {
    <#
    .SYNOPSIS
    The adapter (merged into a temporary copy of its base model) or the merged model folder differs from the base
    model only in the rows of the listed token ids: every other row of every tensor, and every other file, is the same.
    #>
    param($ActualValue, $ExpectedValue, [string] $BaseModel, [switch] $Negate, [string] $Because, $CallerSessionState)
    $subject = Resolve-TokenSubject $ActualValue $BaseModel 'ChangeOnlyTokens'
    $listed = @($ExpectedValue | ForEach-Object { [long]$_ })
    if ($subject.Adapter) {
        $checks = @(Invoke-TokenCommand { if ($subject.Base) { TrainableTokens\Test-TokenAdapter -Adapter $subject.Adapter -Model $subject.Base } else { TrainableTokens\Test-TokenAdapter -Adapter $subject.Adapter } })
        $check = $checks | Where-Object Name -EQ 'OnlyListedRowsChange'
        if ($check.Outcome -eq 'Skipped') { $check = [pscustomobject]@{ Outcome = 'Skipped'; ChangedRows = @(); Detail = ($checks | Where-Object Outcome -EQ 'Failed' | Select-Object -First 1 -ExpandProperty Detail) } }
        $what = "the adapter '$($subject.Adapter)', merged,"
        $trained = @((TrainableTokens\Get-TokenAdapter $subject.Adapter).TokenIndices)
    }
    else {
        if (-not $BaseModel) { throw "Should -ChangeOnlyTokens on the model folder '$($subject.Path)' needs -BaseModel: the folder it was merged from." }
        $check = Invoke-TokenCommand { TrainableTokens\Test-TokenAdapter -MergedModel $subject.Path -Model $subject.Base }
        $what = "the model '$($subject.Path)'"
        $trained = @()
    }
    $changed = @($check.ChangedRows)
    $outside = @($changed + $trained | Where-Object { $_ -notin $listed } | Sort-Object -Unique)
    $others = if ($check.Outcome -eq 'Skipped') { "it could not be merged: $($check.Detail)" } elseif ($check.Detail -like 'more than rows changed*') { $check.Detail } else { $null }
    $succeeded = -not $outside -and -not $others
    if ($Negate) { $succeeded = -not $succeeded }
    $message = if ($succeeded) { $null }
    elseif ($Negate) { "Expected $what to change more than the rows of tokens $(Format-TokenIds $listed)$(Format-TokenBecause $Because), but it changed only $(Format-TokenIds $changed)." }
    elseif ($others) { "Expected $what to differ from its base model only in the rows of tokens $(Format-TokenIds $listed)$(Format-TokenBecause $Because), but $others." }
    else { "Expected $what to differ from its base model only in the rows of tokens $(Format-TokenIds $listed)$(Format-TokenBecause $Because), but tokens $(Format-TokenIds $outside) $(if ($trained) { 'are trained or ' })changed too (changed rows: $(Format-TokenIds $changed))." }
    [pscustomobject]@{ Succeeded = $succeeded; FailureMessage = $message }
}

function ShouldPredictToken {
    <#
    .SYNOPSIS
    The model (with the adapter, when the actual value is one) gives the expected token the highest probability right
    after the prompt -After: greedy decoding would produce it next.
    #>
    param($ActualValue, $ExpectedValue, [string] $After, [string] $BaseModel, [switch] $Negate, [string] $Because, $CallerSessionState)
    if ($null -eq $ExpectedValue -or -not $PSBoundParameters.ContainsKey('After')) {
        throw "Should -PredictToken needs the token and the prompt, e.g. `$adapter | Should -PredictToken '<think>' -After 'Question: ...'."
    }
    $subject = Resolve-TokenSubject $ActualValue $BaseModel 'PredictToken'
    $token = [string]$ExpectedValue
    $score = if ($subject.Adapter) {
        $model = $subject.Model
        Invoke-TokenCommand { if ($model) { TrainableTokens\Measure-TokenModel -Model $model -Adapter $subject.Adapter -After $After -Token $token -Top 3 } else { TrainableTokens\Measure-TokenModel -Adapter $subject.Adapter -After $After -Token $token -Top 3 } }
    }
    else { Invoke-TokenCommand { TrainableTokens\Measure-TokenModel -Model $subject.Model -After $After -Token $token -Top 3 } }
    $what = if ($subject.Adapter) { "the model with the adapter '$($subject.Adapter)'" } else { "the model '$($subject.Model)'" }
    $succeeded = $score.IsTop
    if ($Negate) { $succeeded = -not $succeeded }
    $top = ($score.Top | ForEach-Object { "'$($_.Token)' $([math]::Round($_.Probability, 4))" }) -join ', '
    $message = if ($succeeded) { $null }
    elseif ($Negate) { "Expected $what not to predict '$token' after '$After'$(Format-TokenBecause $Because), but it is the most likely next token (probability $([math]::Round($score.Probability, 4)))." }
    else { "Expected $what to predict '$token' after '$After'$(Format-TokenBecause $Because), but it ranks $($score.Rank) with probability $([math]::Round($score.Probability, 4)); the most likely are $top." }
    [pscustomobject]@{ Succeeded = $succeeded; FailureMessage = $message }
}

# A loss from what a Should pipeline holds: a number, a Measure-TokenModel result (Loss, or AdaptedLoss of a
# comparison), or an adapter or model folder scored on -Dataset.
function Get-TokenLoss($Value, [string] $Dataset, [string] $BaseModel, [string] $Side) {
    $item = if ($Value -is [psobject]) { $Value.psobject.BaseObject } else { $Value }
    if ($item -is [double] -or $item -is [float] -or $item -is [int] -or $item -is [decimal] -or $item -is [long]) { return @{ Loss = [double]$item; Name = "loss $item" } }
    foreach ($name in 'AdaptedLoss', 'Loss') {
        $property = if ($null -ne $item -and $item -isnot [string]) { $Value.psobject.Properties[$name] }
        if ($property -and $property.Value -is [double]) { return @{ Loss = $property.Value; Name = "the score's loss $([math]::Round($property.Value, 4))" } }
    }
    if (-not $Dataset) { throw "Should -LowerLossThan: the $Side value is a folder, so -Dataset is needed to measure its loss (or give Measure-TokenModel results or numbers)." }
    $subject = Resolve-TokenSubject $Value $BaseModel 'LowerLossThan'
    $score = if ($subject.Adapter) {
        $model = $subject.Model
        Invoke-TokenCommand { if ($model) { TrainableTokens\Measure-TokenModel -Model $model -Adapter $subject.Adapter -Dataset $Dataset } else { TrainableTokens\Measure-TokenModel -Adapter $subject.Adapter -Dataset $Dataset } }
    }
    else { Invoke-TokenCommand { TrainableTokens\Measure-TokenModel -Model $subject.Model -Dataset $Dataset } }
    @{ Loss = $score.Loss; Name = "'$($subject.Path)' (loss $([math]::Round($score.Loss, 4)) on $(Split-Path $Dataset -Leaf))" }
}

function ShouldLowerLossThan {
    <#
    .SYNOPSIS
    The actual value's loss is lower than the expected value's. Each side is a number, a Measure-TokenModel result, or
    an adapter or model folder measured on -Dataset (e.g. an adapter against its base model).
    #>
    param($ActualValue, $ExpectedValue, [string] $Dataset, [string] $BaseModel, [switch] $Negate, [string] $Because, $CallerSessionState)
    $actual = Get-TokenLoss $ActualValue $Dataset $BaseModel 'actual'
    $expected = Get-TokenLoss $ExpectedValue $Dataset $null 'expected'
    $succeeded = $actual.Loss -lt $expected.Loss
    if ($Negate) { $succeeded = -not $succeeded }
    $message = if ($succeeded) { $null }
    elseif ($Negate) { "Expected $($actual.Name) not to be lower than $($expected.Name)$(Format-TokenBecause $Because), but it is." }
    else { "Expected $($actual.Name) to be lower than $($expected.Name)$(Format-TokenBecause $Because), but it is $([math]::Round($actual.Loss - $expected.Loss, 4)) higher or equal." }
    [pscustomobject]@{ Succeeded = $succeeded; FailureMessage = $message }
}

$script:RegisteredWith = $null
$script:Registering = $false

function Register-TokenShouldOperator {
    if ($script:Registering) { return }
    $script:Registering = $true
    try {
        $pester = Get-Module Pester | Where-Object { $_.ExportedCommands.ContainsKey('Add-ShouldOperator') } | Select-Object -First 1
        if (-not $pester -or [object]::ReferenceEquals($pester, $script:RegisteredWith)) { return }
        & $pester { param($operators) foreach ($o in $operators) { Add-ShouldOperator -Name $o.Name -Test $o.Test } } @(
            @{ Name = 'ChangeOnlyTokens'; Test = ${function:ShouldChangeOnlyTokens} }
            @{ Name = 'PredictToken'; Test = ${function:ShouldPredictToken} }
            @{ Name = 'LowerLossThan'; Test = ${function:ShouldLowerLossThan} }
        )
        $script:RegisteredWith = $pester
    }
    finally { $script:Registering = $false }
}

Register-TokenShouldOperator

$script:PreviousLookupAction = $ExecutionContext.InvokeCommand.PostCommandLookupAction
$ExecutionContext.InvokeCommand.PostCommandLookupAction = {
    param([string] $Name, [System.Management.Automation.CommandLookupEventArgs] $Lookup)
    if (($Name -eq 'Should' -or $Name -eq 'Pester\Should') -and -not $script:Registering) { Register-TokenShouldOperator }
    if ($script:PreviousLookupAction) { & $script:PreviousLookupAction $Name $Lookup }
}

$ExecutionContext.SessionState.Module.OnRemove = {
    $ExecutionContext.InvokeCommand.PostCommandLookupAction = $script:PreviousLookupAction
}
