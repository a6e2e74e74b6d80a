BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-config-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'New-TrainableTokensConfig' {
    It 'writes a run file that Test-TrainableTokensConfig finds clean' {
        $file = New-TrainableTokensConfig -TokenIndex 5, 6 -Path (Join-Path $work 'clean.yaml')

        $file | Should -BeOfType System.IO.FileInfo
        Test-TrainableTokensConfig -Path $file.FullName | Where-Object Severity -EQ Error | Should -BeNullOrEmpty
        $text = Get-Content -Raw $file.FullName
        $text | Should -Match '(?m)^  token_indices: \[5, 6\]$'
        $text | Should -Match '(?m)^  learning_rate: 0\.001$'
    }

    It 'starts the file with the yaml-language-server line that points at the module''s JSON Schema' {
        $file = New-TrainableTokensConfig -TokenIndex 1 -Path (Join-Path $work 'schema-line.yaml')

        $first = Get-Content $file.FullName -TotalCount 1
        $first | Should -BeLike '# yaml-language-server: $schema=file:///*/schemas/RunConfig.schema.json'
        $schema = ([uri]($first -replace '^# yaml-language-server: \$schema=', '')).LocalPath
        $schema | Should -Exist
    }

    It 'returns the config object without -Path, with the schema''s defaults for what is left out' {
        $config = New-TrainableTokensConfig -TokenIndex 120 -TargetModule embed_tokens -InitWeights $false -BatchSize 4 -MaxSteps 50

        $config.TrainableTokens.TokenIndices | Should -Be @(120)
        $config.TrainableTokens.TargetModules.Items | Should -Be @('embed_tokens')
        $config.TrainableTokens.InitWeights | Should -BeFalse
        $config.Training.PerDeviceTrainBatchSize | Should -Be 4
        $config.Training.MaxSteps | Should -Be 50
        $config.Training.LearningRate | Should -Be 0.001
        $config.Training.Device | Should -Be 'cpu'
    }

    It 'reports every invalid value as an error naming the parameter, and writes nothing' {
        $path = Join-Path $work 'invalid.yaml'
        $err = $null

        New-TrainableTokensConfig -TokenIndex 5, -1 -LearningRate 0 -Dtype fp32 -Path $path -ErrorVariable err -ErrorAction SilentlyContinue

        $err.Count | Should -Be 3
        $err.FullyQualifiedErrorId | ForEach-Object { $_ | Should -BeLike 'InvalidConfigValue,*' }
        $err[0].Exception.Message | Should -BeLike '-TokenIndex: *token_indices`[1`]* is -1; it must be 0 or more*'
        $err[1].Exception.Message | Should -BeLike '-LearningRate: *must be greater than 0*'
        $err[2].Exception.Message | Should -BeLike '-Dtype: *float32, bfloat16, float16*'
        $path | Should -Not -Exist
    }

    It 'refuses to overwrite a file without -Force, and writes nothing with -WhatIf' {
        $path = Join-Path $work 'exists.yaml'
        $null = New-TrainableTokensConfig -TokenIndex 1 -Path $path
        { New-TrainableTokensConfig -TokenIndex 2 -Path $path -ErrorAction Stop } | Should -Throw '*already exists*-Force*'
        New-TrainableTokensConfig -TokenIndex 3 -Path $path -Force -WhatIf
        Get-Content -Raw $path | Should -Match 'token_indices: \[1\]'
        New-TrainableTokensConfig -TokenIndex 4 -Path (Join-Path $work 'whatif.yaml') -WhatIf
        Join-Path $work 'whatif.yaml' | Should -Not -Exist
        $null = New-TrainableTokensConfig -TokenIndex 5 -Path $path -Force
        Get-Content -Raw $path | Should -Match 'token_indices: \[5\]'
    }

    It 'writes paths relative to the file''s folder, which is how run files resolve them' {
        Push-Location $work
        try {
            $file = New-TrainableTokensConfig -TokenIndex 1 -BaseModel ./models/tiny -Dataset data/train.jsonl -ResumeFromCheckpoint latest -Path (Join-Path $work 'runs/one.yaml')
        }
        finally { Pop-Location }

        $text = Get-Content -Raw $file.FullName
        $text | Should -Match '(?m)^  base_model: \.\./models/tiny$'
        $text | Should -Match '(?m)^  dataset: \.\./data/train\.jsonl$'
        $text | Should -Match '(?m)^  resume_from_checkpoint: latest$'
    }

    It 'has a parameter for every setting a user writes, named after it' {
        $schema = Get-Content -Raw (Join-Path $ModuleDirectory 'schemas/RunConfig.schema.json') | ConvertFrom-Json -AsHashtable
        $settings = foreach ($section in 'TrainableTokensConfig', 'LoraConfig', 'TrainingConfig') {
            $schema.definitions[$section].properties.GetEnumerator() | Where-Object { -not $_.Value.readOnly } | ForEach-Object Key
        }
        $expected = foreach ($key in $settings) {
            switch ($key) {
                'token_indices' { 'TokenIndex' }
                'trainable_token_indices' { 'TokenIndex' }
                'target_modules' { 'TargetModule' }
                'exclude_modules' { 'ExcludeModule' }
                'r' { 'Rank' }
                'lora_alpha' { 'Alpha' }
                'lora_dropout' { 'Dropout' }
                default { (($key -split '_') | ForEach-Object { $_.Substring(0, 1).ToUpperInvariant() + $_.Substring(1) }) -join '' }
            }
        }
        $expected = $expected | Select-Object -Unique
        $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
        # -Token and -IncludeOutputHead fill token_indices and target_modules from the model folder: they are not settings of their own;
        # -Method picks the section, and -TokenIndexByModule is the map form of lora.trainable_token_indices (the list form is -TokenIndex).
        $parameters = (Get-Command New-TrainableTokensConfig).Parameters.Keys | Where-Object { $_ -notin $common -and $_ -notin 'Path', 'Force', 'Token', 'IncludeOutputHead', 'Method', 'TokenIndexByModule' }

        @($parameters | Sort-Object) | Should -Be @($expected | Sort-Object)
    }
}

Describe 'New-TrainableTokensConfig -Token and -IncludeOutputHead' {
    BeforeAll {
        $llama3 = (Resolve-Path (Join-Path $PSScriptRoot '../../examples/models/tiny-llama3')).Path
    }

    It 'turns token strings into ids with the tokenizer of -Model, which becomes base_model' {
        $config = New-TrainableTokensConfig -Token '<|reserved_special_token_0|>', '<|reserved_special_token_1|>' -Model $llama3

        $config.TrainableTokens.TokenIndices | Should -Be @(10002, 10003)
        $config.Training.BaseModel | Should -Be $llama3
    }

    It 'puts the ids of -Token after those of -TokenIndex' {
        $config = New-TrainableTokensConfig -TokenIndex 7 -Token '<|reserved_special_token_1|>' -BaseModel $llama3
        $config.TrainableTokens.TokenIndices | Should -Be @(7, 10003)
    }

    It 'reports each string that is not exactly one token as an error naming it, and writes nothing' {
        $path = Join-Path $work 'not-one-token.yaml'
        $err = $null

        New-TrainableTokensConfig -Token '<think>', '<|reserved_special_token_0|>' -Model $llama3 -Path $path -ErrorVariable err -ErrorAction SilentlyContinue

        $path | Should -Not -Exist
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NotOneToken,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].TargetObject | Should -Be '<think>'
        $err[0].Exception.Message | Should -BeLike "'<think>' is not one token of the tokenizer in '$llama3': it encodes to * tokens*Add-TokenizerToken*"
    }

    It 'needs -Model for -Token' {
        { New-TrainableTokensConfig -Token '<think>' -ErrorAction Stop } | Should -Throw '*-Token needs -Model*'
        { New-TrainableTokensConfig -ErrorAction Stop } | Should -Throw '*-TokenIndex*-Token*'
    }

    It '-IncludeOutputHead targets the model''s input embedding and lm_head, as PEFT''s [embed_tokens, lm_head]' {
        (New-TrainableTokensConfig -TokenIndex 5 -Model $llama3 -IncludeOutputHead).TrainableTokens.TargetModules.Items | Should -Be @('embed_tokens', 'lm_head')
        (New-TrainableTokensConfig -TokenIndex 5 -TargetModule wte -IncludeOutputHead).TrainableTokens.TargetModules.Items | Should -Be @('wte', 'lm_head')
        { New-TrainableTokensConfig -TokenIndex 5 -IncludeOutputHead -ErrorAction Stop } | Should -Throw '*-IncludeOutputHead needs -Model*'
    }
}
