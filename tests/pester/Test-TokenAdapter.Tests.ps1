BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-check-tests-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    $examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
    $model = Join-Path $examples 'models/tiny-llama3'
    $data = Join-Path $examples 'data/quickstart.jsonl'
    $training = Start-TokenTraining -Path (New-QuickstartRunFile (Join-Path $work 'q.run.yaml') (Join-Path $work 'adapter') @{ 'num_train_epochs: 3.0' = 'max_steps: 6' })
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Test-TokenAdapter' {
    It 'passes a trained adapter on every check, taking the model from its adapter_config.json' {
        $checks = $training | Test-TokenAdapter -Dataset $data -MaxSeqLength 64 -MaxEvalLoss 100
        $checks.Name | Should -Be @('PeftLayout', 'RowsFinite', 'MatchesModel', 'OnlyListedRowsChange', 'EvalLossLower', 'EvalLossUnderMax')
        $checks | ForEach-Object { $_.Passed | Should -BeTrue -Because "$_" }
        $checks[0].GetType().FullName | Should -Be 'TrainableTokens.Core.Scoring.AdapterCheck'
        $checks[0].Model | Should -Be $model
        $checks[3].ChangedRows | Should -Be @(10002, 10003)
        $checks[4].Value | Should -BeLessThan $checks[4].Reference
        # They print as a table of what matters; every property stays on the objects.
        ($checks | Out-String) | Should -Match '(?m)^Name\s+Outcome\s+Detail\s*$'
        ($checks | Out-String) | Should -Match '(?m)^OnlyListedRowsChange\s+Passed\s+changed: model.embed_tokens'
    }

    It 'fails an adapter for another model and skips what depends on it, as output, not as an error' {
        $wide = New-TestAdapter (Join-Path $work 'wide') -TokenIndex 10002 -Hidden 64
        $checks = Test-TokenAdapter -Model $model -Adapter $wide.FullName -Dataset $data -ErrorAction Stop
        ($checks | Where-Object Name -EQ 'MatchesModel').Passed | Should -BeFalse
        ($checks | Where-Object Name -EQ 'MatchesModel').Detail | Should -Match 'hidden size 32'
        ($checks | Where-Object Name -EQ 'OnlyListedRowsChange').Outcome | Should -Be 'Skipped'
        ($checks | Where-Object Name -EQ 'EvalLossLower').Outcome | Should -Be 'Skipped'
    }

    It 'checks a merged model folder against its base, row by row' {
        $merged = Merge-TokenAdapter $model $training.AdapterFolder -OutputPath (Join-Path $work 'merged')
        $ok = Test-TokenAdapter -Model $model -MergedModel $merged.OutputPath -TokenIndex 10002, 10003
        $ok.Passed | Should -BeTrue
        $bad = Test-TokenAdapter -Model $model -MergedModel $merged.OutputPath -TokenIndex 10002
        $bad.Passed | Should -BeFalse
        $bad.Detail | Should -Match 'outside the listed token ids changed: 10003'
    }

    It 'errors when -MaxEvalLoss has no -Dataset, and when no model can be found' {
        { Test-TokenAdapter -Adapter $training.AdapterFolder -MaxEvalLoss 3 -ErrorAction Stop } | Should -Throw '*-MaxEvalLoss needs -Dataset*'
        $hub = New-TestAdapter (Join-Path $work 'hub') -TokenIndex 10002 -Hidden 32
        { Test-TokenAdapter -Adapter $hub.FullName -ErrorAction Stop } | Should -Throw '*base_model_name_or_path*-Model*'
    }
}
