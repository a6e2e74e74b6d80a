BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-test-config-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    $examples = Join-Path $PSScriptRoot '../../examples'
    $tinyLlama = Join-Path $examples 'models/tiny-llama'

    # A run file written by New-TrainableTokensConfig, with three mistakes planted in it.
    $clean = (New-TrainableTokensConfig -TokenIndex 5, 6 -Path (Join-Path $work 'clean.yaml')).FullName
    $planted = Join-Path $work 'planted.yaml'
    (Get-Content -Raw $clean).
        Replace('  learning_rate: 0.001', '  learnig_rate: 0.001').
        Replace('token_indices: [5, 6]', 'token_indices: [5, -6]').
        Replace('per_device_train_batch_size: 8', 'per_device_train_batch_size: eight') | Set-Content -NoNewline $planted
    function Get-LineOf([string] $Path, [string] $Text) { (Select-String -Path $Path -SimpleMatch $Text | Select-Object -First 1).LineNumber }
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Test-TrainableTokensConfig' {
    It 'returns nothing for a good file' {
        Test-TrainableTokensConfig -Path (Join-Path $examples 'quickstart.run.yaml') | Should -BeNullOrEmpty
    }

    It 'warns about settings a template leaves for the start (-Model, -Dataset, -OutputPath) and takes them as Start does' {
        $warnings = @(Test-TrainableTokensConfig -Path $clean)
        $given = @(Test-TrainableTokensConfig -Path $clean -Model (Join-Path $examples 'models/tiny-llama3') -MaxSteps 1 -Dataset (Join-Path $examples 'data/quickstart.jsonl') -OutputPath (Join-Path $work 'given-out'))

        $warnings.Field | Should -Be @('training.base_model', 'training.dataset', 'training.output_dir')
        $warnings.Severity | ForEach-Object { "$_" | Should -Be 'Warning' }
        $warnings[0].Message | Should -BeLike '*-Model*'
        $given.Field | Should -Be @('training.max_seq_length')  # the only finding left: the tiny model handles 128 positions
    }

    It 'checks a config object from New-TrainableTokensConfig as Start-TokenTraining would' {
        $config = New-TrainableTokensConfig -TokenIndex 5, 128 -MaxSeqLength 64

        $findings = @(Test-TrainableTokensConfig -Config $config -Model $tinyLlama -Dataset (Join-Path $examples 'data/quickstart.jsonl') -OutputPath (Join-Path $work 'cfg-out'))

        ($findings | Where-Object Severity -EQ Error).Field | Should -Contain 'trainable_tokens.token_indices[1]'
    }

    It 'reports a bad setting given on the command line under the parameter''s name' {
        $finding = Test-TrainableTokensConfig -Path (Join-Path $examples 'quickstart.run.yaml') -LearningRate -1 -BatchSize 0 | Sort-Object Field

        $finding.Field | Should -Be @('-BatchSize', '-LearningRate')
        $finding[1].Message | Should -BeLike '*-LearningRate is -1*'
        $finding[1].Line | Should -BeNullOrEmpty
    }

    It 'reports a misspelled key, a negative token index and a string where a number belongs, with line numbers' {
        $findings = @(Test-TrainableTokensConfig -Path $planted | Where-Object Severity -EQ Error)

        $findings.Count | Should -Be 3
        $findings.Severity | ForEach-Object { "$_" | Should -Be 'Error' }
        $index = $findings | Where-Object Field -EQ 'trainable_tokens.token_indices[1]'
        $index.Line | Should -Be (Get-LineOf $planted '[5, -6]')
        $index.Column | Should -BeGreaterThan 0
        $index.Message | Should -BeLike '*-6; it must be 0 or more*'
        $key = $findings | Where-Object Field -EQ 'training.learnig_rate'
        $key.Line | Should -Be (Get-LineOf $planted 'learnig_rate')
        $key.Message | Should -BeLike "*Did you mean 'learning_rate'?*"
        $type = $findings | Where-Object Field -EQ 'training.per_device_train_batch_size'
        $type.Line | Should -Be (Get-LineOf $planted 'per_device_train_batch_size: eight')
        $type.Message | Should -BeLike "*must be a whole number*not the text 'eight'*"
    }

    It 'finds the three mistakes before any model is loaded (libtorch stays unloaded)' {
        $result = Invoke-FreshPwsh @"
Import-Module '$ModuleManifest'
`$errors = @(Test-TrainableTokensConfig -Path '$planted' -Model '$tinyLlama' | Where-Object Severity -EQ Error)
`$torch = @([System.Diagnostics.Process]::GetCurrentProcess().Modules | Where-Object ModuleName -Like 'libtorch_cpu*').Count
"errors=`$(`$errors.Count) torch=`$torch"
"@
        $result.Output | Should -Contain 'errors=3 torch=0'
    }

    It 'gives each finding Severity, Field, Line, Column and Message' {
        $finding = Test-TrainableTokensConfig -Path $planted | Select-Object -First 1

        $finding.PSObject.Properties.Name | Should -Contain 'Severity'
        foreach ($name in 'Field', 'Line', 'Column', 'Message') { $finding.PSObject.Properties.Name | Should -Contain $name }
        $finding.Source | Should -Be $planted
    }

    It 'checks token ids against the model''s vocabulary without loading it' {
        $file = New-TrainableTokensConfig -TokenIndex 5, 128 -MaxSeqLength 64 -Path (Join-Path $work 'vocab.yaml')

        $finding = Test-TrainableTokensConfig -Path $file.FullName -Model $tinyLlama | Where-Object Severity -EQ Error

        $finding.Field | Should -Be 'trainable_tokens.token_indices[1]'
        $finding.Message | Should -BeLike '*ids 0 to 127*'
    }

    It 'finds the quickstart example clean against its model' {
        Test-TrainableTokensConfig -Path (Join-Path $examples 'quickstart.run.yaml') | Should -BeNullOrEmpty
    }

    It 'reports a bad dataset line, a non-empty output folder and a cuda device together' {
        $folder = Join-Path $work 'together'
        New-Item -ItemType Directory -Path (Join-Path $folder 'out') -Force | Out-Null
        Set-Content (Join-Path $folder 'out/old.txt') 'previous run'
        Set-Content (Join-Path $folder 'train.jsonl') '{"text": "fine"}', '{"label": 3}'
        $file = New-TrainableTokensConfig -TokenIndex 5 -BaseModel $tinyLlama -Dataset (Join-Path $folder 'train.jsonl') -OutputDir (Join-Path $folder 'out') `
            -MaxSeqLength 64 -Device cuda -Path (Join-Path $folder 'run.yaml')

        $findings = @(Test-TrainableTokensConfig -Path $file.FullName)

        $findings.Field | Should -Be @('training.dataset', 'training.output_dir', 'training.device')
        $findings[0].Message | Should -BeLike '*train.jsonl line 2*'
        $findings[1].Message | Should -BeLike '*overwrite_output_dir*'
    }

    It 'takes run files from the pipeline' {
        $findings = Get-ChildItem $work -Filter *.yaml | Test-TrainableTokensConfig

        @($findings | Where-Object { $_.Source -eq $planted -and $_.Severity -eq 'Error' }).Count | Should -Be 3
    }

    It 'reports a missing file as an error and goes on' {
        $err = $null
        $findings = Test-TrainableTokensConfig -Path (Join-Path $work 'missing.yaml'), $planted -ErrorVariable err -ErrorAction SilentlyContinue

        $err[0].FullyQualifiedErrorId | Should -BeLike 'RunFileNotFound,*'
        @($findings | Where-Object Severity -EQ Error).Count | Should -Be 3
    }
}

Describe 'The JSON Schemas beside the module' {
    It 'ships one per config in the schemas folder' {
        foreach ($name in 'RunConfig', 'TrainableTokensConfig', 'TrainingConfig') {
            $schema = Get-Content -Raw (Join-Path $ModuleDirectory "schemas/$name.schema.json") | ConvertFrom-Json
            $schema.'$schema' | Should -Be 'http://json-schema.org/draft-07/schema#'
            $schema.additionalProperties | Should -BeFalse
        }
    }
}
