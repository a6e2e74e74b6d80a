BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-traincmd-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null

    # The quickstart run file, copied into a temp folder with absolute paths, a few steps and its own output_dir.
    function New-RunFile {
        param([string] $Name, [string] $Extra = '')
        New-QuickstartRunFile (Join-Path $work "$Name.run.yaml") (Join-Path $work "$Name-out") @{ 'num_train_epochs: 3.0' = 'max_steps: 4' } -Append $Extra
    }
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Start-TokenTraining' {
    It 'trains the quickstart run and writes an adapter Get-TokenAdapter reads' {
        $run = New-RunFile 'quick'
        $result = Start-TokenTraining -Path $run -Verbose 4>&1 | Tee-Object -Variable all | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $result.Steps | Should -Be 4
        $result.TotalSteps | Should -Be 4
        $result.Cancelled | Should -BeFalse
        $result.FinalLoss | Should -BeLessThan $result.FirstLoss
        $result.AdapterFolder | Should -Be (Join-Path $work 'quick-out')
        @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like 'step *' }).Count | Should -Be 4
        $adapter = Get-TokenAdapter $result.AdapterFolder
        $adapter.TokenIndices | Should -Be @(10002, 10003)
        $adapter.Tensors[0].Shape | Should -Be @(2, 32)
    }

    It 'evaluates the held-out examples and writes metrics.jsonl that ConvertFrom-Json reads and a loss curve that is SVG' {
        $run = New-RunFile 'metrics'
        $result = Start-TokenTraining -Path $run
        $result.EvalLossBefore | Should -BeOfType [double]
        $result.EvalLoss | Should -BeLessThan $result.EvalLossBefore
        $result.Improved | Should -BeTrue
        $lines = @(Get-Content (Join-Path $work 'metrics-out/metrics.jsonl') | ConvertFrom-Json)
        $lines.Count | Should -Be $result.LossHistory.Count
        foreach ($line in $lines) {
            $line.PSObject.Properties.Name | Should -Be @('step', 'epoch', 'loss', 'eval_loss', 'eval_perplexity', 'learning_rate', 'grad_norm', 'tokens_per_second', 'elapsed_seconds')
        }
        # The quickstart evaluates per epoch (2 steps) and before training; logging_steps 1 logs every step.
        @($lines | Where-Object { $null -ne $_.eval_loss }).step | Should -Be @(0, 2, 4)
        @($lines | Where-Object { $null -ne $_.loss }).step | Should -Be @(1, 2, 3, 4)
        $svg = [xml](Get-Content -Raw $result.LossCurveFile)
        $svg.DocumentElement.LocalName | Should -Be 'svg'
        @($svg.GetElementsByTagName('polyline')).Count | Should -Be 2
    }

    It 'refuses a run file with planted errors, reports each one and writes nothing' {
        $run = New-RunFile 'bad'
        (Get-Content -Raw $run).Replace('token_indices: [10002, 10003]', 'token_indices: [10002, 99999]').Replace('learning_rate: 0.01', 'learning_rate: -1') |
            Set-Content $run
        $result = Start-TokenTraining -Path $run -ErrorVariable errs -ErrorAction SilentlyContinue
        $result | Should -BeNullOrEmpty
        $errs.Count | Should -Be 2
        $errs.FullyQualifiedErrorId | Should -Contain 'RunFileInvalid,TrainableTokens.Cmdlets.StartTokenTraining'
        ($errs.Exception.Message -join "`n") | Should -Match '99999'
        ($errs.Exception.Message -join "`n") | Should -Match 'learning_rate'
        Test-Path (Join-Path $work 'bad-out') | Should -BeFalse
    }

    It '-WhatIf checks and writes nothing' {
        $run = New-RunFile 'whatif'
        Start-TokenTraining -Path $run -WhatIf | Should -BeNullOrEmpty
        Test-Path (Join-Path $work 'whatif-out') | Should -BeFalse
    }

    It 'refuses an existing, non-empty output folder unless -Force, which replaces only what training writes' {
        $run = New-RunFile 'force'
        New-Item -ItemType Directory (Join-Path $work 'force-out') | Out-Null
        Set-Content (Join-Path $work 'force-out/old.txt') 'old'
        Start-TokenTraining -Path $run -ErrorVariable errs -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $errs.Count | Should -BeGreaterThan 0
        Test-Path (Join-Path $work 'force-out/old.txt') | Should -BeTrue
        New-Item -ItemType Directory (Join-Path $work 'force-out/checkpoint-99') | Out-Null
        $result = Start-TokenTraining -Path $run -Force
        $result.Steps | Should -Be 4
        Test-Path (Join-Path $work 'force-out/old.txt') | Should -BeTrue
        Test-Path (Join-Path $work 'force-out/checkpoint-99') | Should -BeFalse
        Test-Path (Join-Path $work 'force-out/adapter_model.safetensors') | Should -BeTrue
    }

    It 'trains a config object from New-TrainableTokensConfig piped in, with the rest given as parameters' {
        $examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
        Push-Location $work
        try {
            $result = New-TrainableTokensConfig -TokenIndex 10002, 10003 -MaxSeqLength 64 -BatchSize 4 |
                Start-TokenTraining -Model (Join-Path $examples 'models/tiny-llama3') -Dataset (Join-Path $examples 'data/quickstart.jsonl') `
                    -OutputPath ./object-out -MaxSteps 3 -LearningRate 0.02 -Seed 5
        }
        finally { Pop-Location }

        $result.Steps | Should -Be 3
        $result.AdapterFolder | Should -Be (Join-Path $work 'object-out')
        (Get-TokenAdapter $result.AdapterFolder).TokenIndices | Should -Be @(10002, 10003)
    }

    It 'takes a run file piped in from Get-Item' {
        $run = New-RunFile 'piped'
        $result = Get-Item $run | Start-TokenTraining -MaxSteps 2
        $result.Steps | Should -Be 2
    }

    It 'reports a bad override under the parameter''s name, with the same check as a file value, and trains nothing' {
        $run = New-RunFile 'override'
        Start-TokenTraining -Path $run -LearningRate 0 -Device tpu -ErrorVariable errs -ErrorAction SilentlyContinue | Should -BeNullOrEmpty

        $errs.Count | Should -Be 2
        ($errs.TargetObject.Field | Sort-Object) | Should -Be @('-Device', '-LearningRate')
        ($errs.Exception.Message -join "`n") | Should -Match '-LearningRate is 0; it must be greater than 0'
        Test-Path (Join-Path $work 'override-out') | Should -BeFalse
    }

    It '-Resume latest or a checkpoint folder continues a run to the same adapter as the uninterrupted one' {
        $whole = New-QuickstartRunFile (Join-Path $work 'whole.run.yaml') (Join-Path $work 'whole-out') @{ 'num_train_epochs: 3.0' = 'max_steps: 4'; 'save_steps: 10' = 'save_steps: 2'; 'save_total_limit: 2' = 'save_total_limit: null' }
        $part = New-QuickstartRunFile (Join-Path $work 'part.run.yaml') (Join-Path $work 'part-out') @{ 'num_train_epochs: 3.0' = 'max_steps: 4'; 'save_steps: 10' = 'save_steps: 2'; 'save_total_limit: 2' = 'save_total_limit: null' }
        Start-TokenTraining -Path $whole | Out-Null
        # As if the part run had been stopped after its checkpoint at step 2.
        New-Item -ItemType Directory (Join-Path $work 'part-out') | Out-Null
        Copy-Item -Recurse (Join-Path $work 'whole-out/checkpoint-2') (Join-Path $work 'part-out/checkpoint-2')
        $latest = Start-TokenTraining -Path $part -Resume latest
        $fromFolder = Start-TokenTraining -Path $part -Resume (Join-Path $work 'whole-out/checkpoint-2') -OutputPath (Join-Path $work 'part2-out')

        $latest.Steps | Should -Be 4
        $expected = (Get-FileHash (Join-Path $work 'whole-out/adapter_model.safetensors')).Hash
        (Get-FileHash (Join-Path $work 'part-out/adapter_model.safetensors')).Hash | Should -Be $expected
        (Get-FileHash (Join-Path $fromFolder.AdapterFolder 'adapter_model.safetensors')).Hash | Should -Be $expected
    }

    It 'refuses -Resume latest where there is no checkpoint, naming -Resume' {
        $run = New-RunFile 'noresume'
        Start-TokenTraining -Path $run -Resume latest -ErrorVariable errs -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $errs.TargetObject.Field | Should -Be '-Resume'
    }
}
