BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-should-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    $examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
    $model = Join-Path $examples 'models/tiny-llama3'
    $data = Join-Path $examples 'data/quickstart.jsonl'
    $training = Start-TokenTraining -Path (New-QuickstartRunFile (Join-Path $work 'q.run.yaml') (Join-Path $work 'adapter') @{ 'num_train_epochs: 3.0' = 'max_steps: 6' })
    $adapter = $training.AdapterFolder
    $pester = Join-Path (Get-Module Pester).ModuleBase 'Pester.psd1'
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Should -ChangeOnlyTokens' {
    It 'passes for an adapter and its merged folder that change only the listed rows' {
        $adapter | Should -ChangeOnlyTokens 10002, 10003
        Get-TokenAdapter $adapter | Should -ChangeOnlyTokens 10002, 10003, 10004
        $merged = (Merge-TokenAdapter $model $adapter -OutputPath (Join-Path $work 'merged')).OutputPath
        $merged | Should -ChangeOnlyTokens 10002, 10003 -BaseModel $model
    }

    It 'fails naming the rows outside the list' {
        { $adapter | Should -ChangeOnlyTokens 10002 -Because 'only <think> was to change' } |
            Should -Throw -ExpectedMessage "Expected the adapter '$adapter', merged, to differ from its base model only in the rows of tokens {10002} because only <think> was to change, but tokens {10003} are trained or changed too*"
        { $adapter | Should -Not -ChangeOnlyTokens 10002, 10003 } | Should -Throw -ExpectedMessage '*to change more than the rows of tokens {10002, 10003}*'
        { (Join-Path $work 'merged') | Should -ChangeOnlyTokens 10002 } | Should -Throw -ExpectedMessage '*needs -BaseModel*'
    }
}

Describe 'Should -PredictToken' {
    It 'passes when the token is the most likely next one, and fails with its rank and the likely ones' {
        $best = (Measure-TokenModel $model -After 'Question: why?' -Token '?').Top[0].Token
        $model | Should -PredictToken $best -After 'Question: why?'
        $adapter | Should -PredictToken $best -After 'Question: why?'
        { $model | Should -PredictToken '<|reserved_special_token_0|>' -After 'Question: why?' } |
            Should -Throw -ExpectedMessage "Expected the model '$model' to predict '<|reserved_special_token_0|>' after 'Question: why?', but it ranks * with probability *; the most likely are '*"
        { $model | Should -Not -PredictToken $best -After 'Question: why?' } | Should -Throw -ExpectedMessage "*not to predict '$best'*but it is the most likely next token*"
        { 42 | Should -PredictToken 'a' -After 'b' } | Should -Throw -ExpectedMessage '*needs an adapter or model folder*got a Int32*'
    }
}

Describe 'Should -LowerLossThan' {
    It 'compares numbers, Measure-TokenModel results and folders measured on -Dataset' {
        1.5 | Should -LowerLossThan 2
        $with = Measure-TokenModel -Adapter $adapter -Dataset $data
        $without = Measure-TokenModel $model -Dataset $data
        $with | Should -LowerLossThan $without
        $adapter | Should -LowerLossThan $model -Dataset $data
        Measure-TokenModel -Adapter $adapter -Dataset $data -Compare | Should -LowerLossThan $without.Loss
    }

    It 'fails saying by how much' {
        { 3 | Should -LowerLossThan 2 -Because 'training must help' } |
            Should -Throw -ExpectedMessage 'Expected loss 3 to be lower than loss 2 because training must help, but it is 1 higher or equal.'
        { $model | Should -LowerLossThan $adapter -Dataset $data } | Should -Throw -ExpectedMessage "Expected '$model' (loss * on quickstart.jsonl) to be lower than '$adapter' (loss *"
        { $adapter | Should -LowerLossThan $model } | Should -Throw -ExpectedMessage '*-Dataset is needed*'
    }
}

Describe 'Registration with Pester' {
    It 'works when TrainableTokens is imported before Pester, and after Pester is imported again' {
        $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModuleManifest'
Import-Module '$pester'
`$c = New-PesterContainer -ScriptBlock { Describe 'a' { It 'x' { '$adapter' | Should -ChangeOnlyTokens 10002, 10003 } } }
`$r = Invoke-Pester -Container `$c -PassThru -Output None
Import-Module '$pester' -Force
`$c = New-PesterContainer -ScriptBlock { Describe 'b' { It 'y' { 1 | Should -LowerLossThan 2 } } }
`$s = Invoke-Pester -Container `$c -PassThru -Output None
"counts `$(`$r.PassedCount + `$s.PassedCount) `$(`$r.FailedCount + `$s.FailedCount)"
"@
        $run = Invoke-FreshPwsh $script
        $run.Output -join "`n" | Should -Match 'counts 2 0'
    }

    It 'runs the example acceptance suite in examples/acceptance, every guarantee passing<_>' -ForEach '', ' on an adapter passed in as CI passes it' {
        $given = if ($_) { "`$env:TRAINABLETOKENS_ADAPTER = '$(Join-Path $examples 'adapters/quickstart')'" } else { '' }
        $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$pester'
`$env:TRAINABLETOKENS_MODULE = '$ModuleManifest'
$given
`$r = Invoke-Pester -Path '$(Join-Path $examples 'acceptance')' -PassThru -Output Detailed
"acceptance `$(`$r.PassedCount) passed, `$(`$r.FailedCount) failed, `$(`$r.FailedBlocksCount + `$r.FailedContainersCount) broken"
"@
        $run = Invoke-FreshPwsh $script
        $text = $run.Output -join "`n"
        $counts = [regex]::Match($text, 'acceptance (\d+) passed, (\d+) failed, (\d+) broken')
        $counts.Success | Should -BeTrue -Because $text
        "$($counts.Groups[2].Value) $($counts.Groups[3].Value)" | Should -Be '0 0' -Because $text
        [int]$counts.Groups[1].Value | Should -BeGreaterOrEqual 9
    }
}
