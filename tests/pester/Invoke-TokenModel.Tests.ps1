BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-forward-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    # Reads a safetensors file's header with nothing but .NET, independently of the module's reader.
    function Read-SafetensorsHeader([string] $Path) {
        $bytes = [System.IO.File]::ReadAllBytes($Path)
        $length = [BitConverter]::ToUInt64($bytes, 0)
        [System.Text.Encoding]::UTF8.GetString($bytes, 8, $length) | ConvertFrom-Json -AsHashtable
    }
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'New-TinyModel' {
    It 'writes a Hugging Face folder for <_>' -ForEach @('llama', 'mistral', 'qwen2', 'gemma', 'gpt2') {
        $model = New-TinyModel $_ (Join-Path $work "tiny-$_") -Seed 1
        $model.ModelType | Should -Be $_
        $config = Get-Content -Raw (Join-Path $model.Path 'config.json') | ConvertFrom-Json
        $config.model_type | Should -Be $_
        $config.architectures.Count | Should -Be 1
        Join-Path $model.Path 'model.safetensors' | Should -Exist
    }

    It 'is deterministic from the seed' {
        $a = New-TinyModel llama (Join-Path $work 'seed-a') -Seed 42
        $b = New-TinyModel llama (Join-Path $work 'seed-b') -Seed 42
        (Get-FileHash (Join-Path $a.Path 'model.safetensors')).Hash | Should -Be (Get-FileHash (Join-Path $b.Path 'model.safetensors')).Hash
    }

    It 'shards the checkpoint with an index when asked' {
        $m = New-TinyModel gemma (Join-Path $work 'sharded') -MaxShardBytes 20000
        $index = Get-Content -Raw (Join-Path $m.Path 'model.safetensors.index.json') | ConvertFrom-Json -AsHashtable
        $files = @($index.weight_map.Values | Sort-Object -Unique)
        $files.Count | Should -BeGreaterThan 1
        $files | ForEach-Object { Join-Path $m.Path $_ | Should -Exist }
    }

    It 'copies a tokenizer in with -Tokenizer, sized so that the model trains as it is' {
        $examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
        $m = New-TinyModel qwen2 (Join-Path $work 'with-tokenizer') -Tokenizer (Join-Path $examples 'models/tiny-llama3') -Untied -Seed 2
        $config = Get-Content -Raw (Join-Path $m.Path 'config.json') | ConvertFrom-Json
        $llama3 = Get-Content -Raw (Join-Path $examples 'models/tiny-llama3/config.json') | ConvertFrom-Json

        $m.VocabSize | Should -Be $llama3.vocab_size
        # The ids of the tokenizer's own bos and eos tokens (Llama 3's <|begin_of_text|> and <|end_of_text|>).
        $config.bos_token_id | Should -Be (ConvertTo-TokenId $m.Path '<|begin_of_text|>' -NoSpecialTokens).Ids[0]
        $config.eos_token_id | Should -Be (ConvertTo-TokenId $m.Path '<|end_of_text|>' -NoSpecialTokens).Ids[0]
        Join-Path $m.Path 'tokenizer.json' | Should -Exist
        $result = New-TrainableTokensConfig -TokenIndex 10002 -MaxSeqLength 32 -BatchSize 2 |
            Start-TokenTraining -Model $m.Path -Dataset (Join-Path $examples 'data/quickstart.jsonl') -OutputPath (Join-Path $work 'with-tokenizer-out') -MaxSteps 2
        $result.Steps | Should -Be 2
    }

    It 'refuses an output folder that holds the tokenizer folder it copies from, losing nothing' {
        $examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
        $outer = Join-Path $work 'outer'
        $null = New-TinyModel llama $outer
        Copy-Item -Recurse (Join-Path $examples 'models/tiny-llama3') (Join-Path $outer 'tok')
        New-TinyModel llama $outer -Tokenizer (Join-Path $outer 'tok') -Force -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'OutputConflict,*'
        Join-Path $outer 'tok/tokenizer.json' | Should -Exist
    }

    It 'refuses a -VocabSize smaller than the tokenizer, writing nothing' {
        $examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
        New-TinyModel llama (Join-Path $work 'too-small') -Tokenizer (Join-Path $examples 'models/tiny-llama3') -VocabSize 100 -ErrorVariable err -ErrorAction SilentlyContinue |
            Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'VocabSmallerThanTokenizer,*'
        Join-Path $work 'too-small' | Should -Not -Exist
    }

    It 'refuses to replace an existing folder without -Force, and writes nothing with -WhatIf' {
        $path = Join-Path $work 'exists'
        $null = New-TinyModel llama $path
        { New-TinyModel llama $path -ErrorAction Stop } | Should -Throw '*already exists*-Force*'
        New-TinyModel qwen2 (Join-Path $work 'whatif') -WhatIf
        Join-Path $work 'whatif' | Should -Not -Exist
    }
}

Describe 'Invoke-TokenModel' {
    BeforeAll {
        $llama = New-TinyModel llama (Join-Path $work 'llama') -Seed 3
        $out = Join-Path $work 'forward.safetensors'
        $result = Invoke-TokenModel -Model $llama.Path -InputId 1, 2, 3, 4, 5 -OutFile $out
    }

    It 'writes logits [1, seq, vocab] and hidden_states.0 [1, seq, hidden] as float32' {
        $header = Read-SafetensorsHeader $out
        $header['logits'].dtype | Should -Be 'F32'
        $header['logits'].shape | Should -Be @(1, 5, 128)
        $header['hidden_states.0'].dtype | Should -Be 'F32'
        $header['hidden_states.0'].shape | Should -Be @(1, 5, 64)
        $header['hidden_states.2'].shape | Should -Be @(1, 5, 64)
    }

    It 'returns an object describing what it wrote' {
        $result.OutFile | Should -Be $out
        $result.ModelType | Should -Be 'llama'
        $result.SequenceLength | Should -Be 5
        $result.Tensors | Should -Contain 'logits'
        $result.Tensors | Should -Contain 'hidden_states.0'
    }

    It 'refuses to overwrite without -Force' {
        { Invoke-TokenModel -Model $llama.Path -InputId 1 -OutFile $out -ErrorAction Stop } | Should -Throw '*already exists*-Force*'
        { Invoke-TokenModel -Model $llama.Path -InputId 1 -OutFile $out -Force -ErrorAction Stop } | Should -Not -Throw
    }

    It 'writes nothing with -WhatIf' {
        Invoke-TokenModel -Model $llama.Path -InputId 1 -OutFile (Join-Path $work 'whatif.safetensors') -WhatIf
        Join-Path $work 'whatif.safetensors' | Should -Not -Exist
    }

    It 'reports a token id past the vocabulary as TokenIdOutOfRange and leaves no file' {
        $bad = Join-Path $work 'bad.safetensors'
        $err = $null
        Invoke-TokenModel -Model $llama.Path -InputId 1, 500 -OutFile $bad -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'TokenIdOutOfRange,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].Exception.Message | Should -Match '500.*0 to 127'
        $bad | Should -Not -Exist
    }

    It 'reports a folder without config.json as InvalidModelFolder' {
        $err = $null
        Invoke-TokenModel -Model $work -InputId 1 -OutFile (Join-Path $work 'x.safetensors') -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidModelFolder,*'
        $err[0].Exception.Message | Should -Match 'config\.json'
    }

    It 'reports a corrupt checkpoint by file name' {
        $broken = New-TinyModel llama (Join-Path $work 'broken') -Seed 4
        $file = Join-Path $broken.Path 'model.safetensors'
        $bytes = [System.IO.File]::ReadAllBytes($file)
        [System.IO.File]::WriteAllBytes($file, $bytes[0..($bytes.Length / 2)])
        $err = $null
        Invoke-TokenModel -Model $broken.Path -InputId 1 -OutFile (Join-Path $work 'y.safetensors') -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidSafetensorsFile,*'
        $err[0].Exception.Message | Should -Match 'model\.safetensors'
    }

    It 'gives the same logits in a bfloat16 run to bfloat16 precision' {
        $bf = Join-Path $work 'bf16.safetensors'
        $null = Invoke-TokenModel -Model $llama.Path -InputId 1, 2, 3, 4, 5 -OutFile $bf -Dtype bfloat16
        (Read-SafetensorsHeader $bf)['logits'].dtype | Should -Be 'F32'
    }
}
