BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $script:Examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
    $script:Model = Join-Path $Examples 'models/tiny-llama3'
    $script:Data = Join-Path $Examples 'data/quickstart.jsonl'
}
AfterAll { Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue }

Describe 'Results pipe into the next cmdlet by property name' {
    BeforeEach {
        $script:Work = Join-Path ([IO.Path]::GetTempPath()) "tt-compose-$([guid]::NewGuid().ToString('N'))"
        New-Item -ItemType Directory $Work | Out-Null
    }
    AfterEach { Remove-Item -Recurse -Force $Work -ErrorAction SilentlyContinue }

    It 'Add-TokenizerToken | New-TrainableTokensConfig | Start-TokenTraining | Merge-TokenAdapter trains the new ids and merges into the adapter''s base model' {
        $merged = Add-TokenizerToken $Model '<think>', '</think>' -Special -OutputPath (Join-Path $Work 'think-model') |
            New-TrainableTokensConfig -Dataset $Data -OutputDir (Join-Path $Work 'adapter') -MaxSteps 2 -MaxSeqLength 64 |
            Start-TokenTraining |
            Merge-TokenAdapter -OutputPath (Join-Path $Work 'merged')
        $merged | Should -BeOfType ([TrainableTokens.AdapterMergeResult])
        $merged.Changes.TokenIndices | Should -Be @(10256, 10257)
        # -Model left out: the adapter's base_model_name_or_path, the folder Add-TokenizerToken wrote.
        (Get-Content -Raw (Join-Path $Work 'merged/config.json') | ConvertFrom-Json).vocab_size | Should -Be 10258
    }

    It 'Add-TokenizerToken | Add-TokenizerToken adds to the first output once, though it pipes one object per token' {
        $added = Add-TokenizerToken $Model '<a1>', '<a2>' -Special -OutputPath (Join-Path $Work 'first') |
            Add-TokenizerToken -Token '<b1>' -Special -OutputPath (Join-Path $Work 'second') -ErrorVariable failed
        $failed | Should -BeNullOrEmpty
        @($added).Count | Should -Be 1
        $added.Id | Should -Be 10258
        # A different model into an output this pipeline already wrote is refused, not written over.
        { @([pscustomobject]@{ Path = (Join-Path $Work 'first') }, [pscustomobject]@{ Path = $Model }) | Add-TokenizerToken -Token '<c1>' -OutputPath (Join-Path $Work 'third') -Force -ErrorAction Stop } |
            Should -Throw -ErrorId 'OutputPathReused*'
    }

    It 'Start-TokenTraining | Get-TokenAdapter describes the adapter written' {
        $run = New-QuickstartRunFile -Path (Join-Path $Work 'run.yaml') -OutputDir (Join-Path $Work 'out') -Replace @{ 'num_train_epochs: 3.0' = 'max_steps: 2' }
        $adapter = Start-TokenTraining $run | Get-TokenAdapter
        $adapter | Should -BeOfType ([TrainableTokens.AdapterSummary])
        $adapter.Path | Should -Be (Join-Path $Work 'out')
        $adapter.TokenIndices | Should -Be @(10002, 10003)
    }

    It 'ConvertTo-TokenId | Invoke-TokenModel runs the ids of the text' {
        $result = ConvertTo-TokenId $Model 'Hello world' | Invoke-TokenModel -Model $Model -OutFile (Join-Path $Work 'f.safetensors')
        $result.SequenceLength | Should -Be (ConvertTo-TokenId $Model 'Hello world').Count
    }

    It 'Get-TokenAdapter | New-TrainableTokensConfig retrains the same rows (TokenIndices), leaving the model to be given' {
        $config = Get-TokenAdapter (Join-Path $Examples 'adapters/quickstart') | New-TrainableTokensConfig -Model $Model
        $config.TrainableTokens.TokenIndices | Should -Be @(10002, 10003)
        $config.Training.BaseModel | Should -Be $Model
    }

    It 'ConvertTo-TokenId | Invoke-TokenModel refuses to overwrite the first sequence''s file with the second' {
        $out = Join-Path $Work 'f.safetensors'
        $errors = $null
        $results = 'one', 'two' | ConvertTo-TokenId $Model | Invoke-TokenModel -Model $Model -OutFile $out -Force -ErrorVariable errors -ErrorAction SilentlyContinue
        @($results).Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'OutFileReused*'
    }

    It 'Merge-TokenAdapter | Invoke-TokenModel runs the merged folder (OutputPath binds to -Model)' {
        New-TestAdapter -Path (Join-Path $Work 'a') -TokenIndex 5, 6 -Hidden 32 | Out-Null
        $result = Merge-TokenAdapter -Model $Model -Adapter (Join-Path $Work 'a') -OutputPath (Join-Path $Work 'm') |
            Invoke-TokenModel -InputId 5, 6 -OutFile (Join-Path $Work 'm.safetensors')
        $result.SequenceLength | Should -Be 2
    }

    It 'New-TrainableTokensConfig | Test-TrainableTokensConfig checks the config object, not its text as a path' {
        $findings = New-TrainableTokensConfig -TokenIndex 99999 | Test-TrainableTokensConfig -Model $Model
        ($findings | Where-Object Severity -EQ Error).Field | Should -Contain 'trainable_tokens.token_indices[0]'
    }

    It 'Merge-TokenAdapter without -Model says why when base_model_name_or_path is not a local folder, and writes nothing' {
        New-TestAdapter -Path (Join-Path $Work 'hub') -TokenIndex 5 -Hidden 32 | Out-Null
        $config = Get-Content -Raw (Join-Path $Work 'hub/adapter_config.json') | ConvertFrom-Json -AsHashtable
        $config.base_model_name_or_path = 'meta-llama/Llama-3.2-1B'
        $config | ConvertTo-Json | Set-Content (Join-Path $Work 'hub/adapter_config.json')
        $errors = $null
        Merge-TokenAdapter -Adapter (Join-Path $Work 'hub') -OutputPath (Join-Path $Work 'm') -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'BaseModelNotFound*'
        "$($errors[0])" | Should -Match "meta-llama/Llama-3.2-1B.*-Model"
        Join-Path $Work 'm' | Should -Not -Exist
    }

    It 'Merge-TokenAdapter without -Model finds a relative base_model_name_or_path beside the adapter' {
        Copy-Item -Recurse $Model (Join-Path $Work 'base')
        New-TestAdapter -Path (Join-Path $Work 'adapters/a') -TokenIndex 5 -Hidden 32 | Out-Null
        $config = Get-Content -Raw (Join-Path $Work 'adapters/a/adapter_config.json') | ConvertFrom-Json -AsHashtable
        $config.base_model_name_or_path = '../../base'
        $config | ConvertTo-Json | Set-Content (Join-Path $Work 'adapters/a/adapter_config.json')
        $merged = Get-TokenAdapter (Join-Path $Work 'adapters/a') | Merge-TokenAdapter -OutputPath (Join-Path $Work 'm')
        $merged.Changes.TokenIndices | Should -Be @(5)
    }
}

Describe 'Result types scripts can name' {
    It '<Name> resolves and is what the cmdlet returns' -ForEach @(
        @{ Name = 'TrainableTokens.TokenIds'; Make = { ConvertTo-TokenId $Model 'hi' } }
        @{ Name = 'TrainableTokens.DecodedText'; Make = { ConvertFrom-TokenId $Model -Id 1, 2 } }
        @{ Name = 'TrainableTokens.DatasetSummary'; Make = { Measure-TokenDataset $Model $Data } }
        @{ Name = 'TrainableTokens.RunConfig'; Make = { New-TrainableTokensConfig -TokenIndex 5 } }
        @{ Name = 'TrainableTokens.EnvironmentReport'; Make = { Get-TrainableTokensEnvironment } }
    ) {
        $type = $Name -as [type]
        $type | Should -Not -BeNullOrEmpty
        & $Make | Should -BeOfType $type
    }

    It 'prints an adapter''s tensors with their shapes, not System.Int64[]' {
        $work = Join-Path ([IO.Path]::GetTempPath()) "tt-print-$PID"
        try {
            New-TestAdapter -Path $work -TokenIndex 5, 6 -Hidden 32 | Out-Null
            $text = Get-TokenAdapter $work | Format-List | Out-String -Width 300
            $text | Should -Match 'trainable_tokens_delta \[2, 32\] F32'
            $text | Should -Not -Match 'System\.Int64\[\]'
        }
        finally { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }
    }
}

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $shouldProcess = (Get-Command -Module (Import-Module $ModuleManifest -Force -PassThru) -CommandType Cmdlet |
        Where-Object { $_.Parameters.ContainsKey('WhatIf') }).Name
}

Describe 'Get-Help lists -WhatIf and -Confirm' {
    It '<_> documents -WhatIf and -Confirm in its syntax and parameters' -ForEach $shouldProcess {
        $help = Get-Help $_ -Full
        $help.Parameters.Parameter.Name | Should -Contain 'WhatIf'
        $help.Parameters.Parameter.Name | Should -Contain 'Confirm'
        ($help.Syntax | Out-String -Width 1000) | Should -Match '\[-WhatIf\]'
        (Get-Help $_ -Parameter WhatIf).Description.Text | Should -Not -BeNullOrEmpty
    }
}
