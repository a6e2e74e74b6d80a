<#
.SYNOPSIS
    Azure Automation runbook (PowerShell 7.4, hybrid worker): adds tokens to a model, trains their rows, merges the
    adapter and returns one result object.
.DESCRIPTION
    Runs on a Hybrid Runbook Worker that has the TrainableTokens module installed (Install-PSResource from your
    feed, or the folder build.ps1 writes copied into a PSModulePath folder) and, for -Device cuda, a GPU with the
    module's CUDA build. It runs the same way from a shell or a CI job: pwsh -File ./Train-TokenAdapter.ps1 ...

    Steps: check the worker (libtorch computes; the device exists), add -Token to -Model (skipped without -Token),
    check the run, train, check the adapter, merge it. Each step writes a line to the Verbose stream (turn on
    "Log verbose records" for the runbook to see them in the job).

    Where files go: everything lands in <OutputRoot>/<RunName>/:
        model/          the model with the new tokens (only with -Token)
        adapter/        the trained adapter (PEFT format), its checkpoints, metrics.jsonl and loss_curve.svg
        merged/         the model with the adapter merged in (unless -NoMerge)
        result.json     the result object below, as JSON
    OutputRoot defaults to $env:TRAINABLETOKENS_OUTPUT, else a TrainableTokens folder in the worker's temp folder.
    A hybrid worker keeps its disk between jobs, but nothing copies the folders anywhere: upload them (for example
    with azcopy or Set-AzStorageBlobContent) in a step after this one, or point OutputRoot at a share.

    Output: one TrainableTokens.RunbookResult object (Status, RunName, TokenIds, FirstLoss, FinalLoss,
    EvalLossBefore, EvalLoss, Improved, Steps, Seconds, Device, ModelFolder, AdapterFolder, MergedFolder,
    ResultFile), also saved as result.json. Errors go to the error stream.

    Exit codes (from pwsh -File; in Azure Automation the job is Failed instead, with the same message):
        0  trained (and merged)
        2  bad input: a missing model or dataset, a token that is not one token, a run the checks refuse
        3  the worker cannot run it: libtorch does not compute correctly, or the device is not there
        4  training ran but did not help: the held-out loss did not drop, or ended above -MaxEvalLoss
        1  anything else
.EXAMPLE
    ./examples/runbooks/Train-TokenAdapter.ps1 -Model ./examples/models/tiny-llama3 -Dataset ./examples/data/quickstart.jsonl -TokenIndex 10002, 10003 -OutputRoot ./out/runbook -MaxSteps 20 -MaxSeqLength 64

    Trains the quickstart's two reserved-token rows on the tiny model and merges them; the result object says where
    everything went. (From bash, use pwsh -Command so that lists such as -TokenIndex 10002, 10003 stay lists.)
#>
[CmdletBinding()]
param(
    # The Hugging Face model folder on the worker.
    [Parameter(Mandatory)] [string] $Model,
    # The training data on the worker (JSON Lines: text, prompt/completion or messages).
    [Parameter(Mandatory)] [string] $Dataset,
    # Tokens to add first (such as <think>); they are added as special tokens and their rows trained.
    [string[]] $Token = @(),
    # Existing token ids to train (with or instead of -Token).
    [int[]] $TokenIndex = @(),
    # A name for this run: its folder under OutputRoot. Default: the date and time.
    [string] $RunName = (Get-Date -Format 'yyyyMMdd-HHmmss'),
    [string] $OutputRoot = $(if ($env:TRAINABLETOKENS_OUTPUT) { $env:TRAINABLETOKENS_OUTPUT } else { Join-Path ([IO.Path]::GetTempPath()) 'TrainableTokens' }),
    [int] $MaxSteps = 100,
    [double] $LearningRate = 0.01,
    [int] $MaxSeqLength = 256,
    [ValidateSet('cpu', 'cuda')] [string] $Device = 'cpu',
    # Fail (exit 4) when the adapter's held-out loss ends above this; 0: only require that it dropped.
    [double] $MaxEvalLoss = 0,
    # Train only; leave the model unmerged.
    [switch] $NoMerge,
    # Where the module is, when it is not installed (a local build: out/TrainableTokens/TrainableTokens.psd1).
    [string] $ModulePath = 'TrainableTokens'
)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'  # Azure Automation stores every progress record; the Verbose lines say enough.
# Azure Automation sets $PSPrivateMetadata.JobId: there a failure must throw (the job shows Failed), elsewhere exit with a code.
$inAzure = $null -ne (Get-Variable PSPrivateMetadata -ValueOnly -ErrorAction SilentlyContinue).JobId

function Stop-Run([int] $Code, [string] $Message) {
    if ($inAzure) { throw $Message }
    Write-Error $Message -ErrorAction Continue
    exit $Code
}

try {
    Import-Module $ModulePath
    $runFolder = Join-Path ([IO.Path]::GetFullPath($OutputRoot, (Get-Location).ProviderPath)) $RunName
    New-Item -ItemType Directory -Force $runFolder | Out-Null
    Write-Verbose "Run folder: $runFolder"

    Write-Verbose 'Checking the worker.'
    $environment = Get-TrainableTokensEnvironment
    if (-not $environment.ComputeCheckPassed) { Stop-Run 3 "libtorch does not compute correctly on $([Environment]::MachineName): see Get-TrainableTokensEnvironment." }
    if ($Device -eq 'cuda' -and $environment.CudaDevices.Count -eq 0) { Stop-Run 3 "-Device cuda, but $([Environment]::MachineName) has no GPU the NVIDIA driver lists." }

    foreach ($path in $Model, $Dataset) {
        if (-not (Test-Path $path)) { Stop-Run 2 "'$path' does not exist on $([Environment]::MachineName)." }
    }
    if ($Token.Count -eq 0 -and $TokenIndex.Count -eq 0) { Stop-Run 2 'Give -Token (tokens to add and train) or -TokenIndex (existing ids to train).' }

    $modelFolder = (Resolve-Path $Model).ProviderPath
    $ids = @($TokenIndex)
    if ($Token.Count -gt 0) {
        Write-Verbose "Adding $($Token -join ', ') to $modelFolder."
        $added = Add-TokenizerToken -Model $modelFolder -Token $Token -Special -OutputPath (Join-Path $runFolder 'model') -Force
        $modelFolder = $added[0].Model
        $ids += $added.Id
    }

    $config = New-TrainableTokensConfig -TokenIndex $ids -BaseModel $modelFolder -Dataset $Dataset -OutputDir (Join-Path $runFolder 'adapter') `
        -MaxSteps $MaxSteps -LearningRate $LearningRate -MaxSeqLength $MaxSeqLength -Device $Device -EvalSplit 0.25 -OverwriteOutputDir
    $problems = @($config | Test-TrainableTokensConfig | Where-Object Severity -EQ Error)
    if ($problems) { Stop-Run 2 ("The run is refused: " + (($problems | ForEach-Object { "$($_.Field): $($_.Message)" }) -join ' ')) }

    Write-Verbose "Training token ids $($ids -join ', ') for $MaxSteps steps on $Device."
    $trained = $config | Start-TokenTraining
    Write-Verbose ("Loss {0:0.0000} -> {1:0.0000}; held-out {2:0.0000} -> {3:0.0000}." -f $trained.FirstLoss, $trained.FinalLoss, $trained.EvalLossBefore, $trained.EvalLoss)

    $merged = $null
    if (-not $NoMerge) {
        Write-Verbose 'Merging the adapter.'
        $merged = $trained | Merge-TokenAdapter -OutputPath (Join-Path $runFolder 'merged') -SafeMerge -Force
    }

    $helped = $trained.Improved -and ($MaxEvalLoss -le 0 -or $trained.EvalLoss -le $MaxEvalLoss)
    $result = [pscustomobject]@{
        PSTypeName     = 'TrainableTokens.RunbookResult'
        Status         = if ($helped) { 'Trained' } else { 'NotImproved' }
        RunName        = $RunName
        TokenIds       = $ids
        FirstLoss      = $trained.FirstLoss
        FinalLoss      = $trained.FinalLoss
        EvalLossBefore = $trained.EvalLossBefore
        EvalLoss       = $trained.EvalLoss
        Improved       = $trained.Improved
        Steps          = $trained.Steps
        Seconds        = $trained.Seconds
        Device         = $Device
        ModelFolder    = $modelFolder
        AdapterFolder  = $trained.AdapterFolder
        MergedFolder   = $merged.OutputPath
        ResultFile     = Join-Path $runFolder 'result.json'
    }
    $result | ConvertTo-Json | Set-Content -Encoding utf8 $result.ResultFile
    $result
    if (-not $helped) {
        Stop-Run 4 ("Training did not help: held-out loss {0:0.0000} -> {1:0.0000}{2}." -f $trained.EvalLossBefore, $trained.EvalLoss,
            $(if ($MaxEvalLoss -gt 0) { ", limit $MaxEvalLoss" } else { '' }))
    }
}
catch {
    # Errors the module reports about the input (a bad model folder, dataset, token) are the caller's to fix: exit 2.
    $id = $_.FullyQualifiedErrorId
    $code = if ($id -match '^(Invalid|NotOneToken|TokenIdOutOfRange|BaseModelNotFound|RunFile|PathNotFound)') { 2 } else { 1 }
    Stop-Run $code "$($_.Exception.Message)"
}
