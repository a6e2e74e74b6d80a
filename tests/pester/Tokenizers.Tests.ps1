BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $fixtures = (Resolve-Path (Join-Path $PSScriptRoot '../fixtures/tokenizers')).Path
    $reference = Get-Content -Raw (Join-Path $fixtures 'reference-ids.json') | ConvertFrom-Json -AsHashtable
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-tokenizers-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    # A tiny Llama whose vocabulary is the real Llama 2 tokenizer's.
    $model = Join-Path $work 'tiny-llama2'
    New-TinyModel llama $model -VocabSize 32000 -HiddenSize 16 -IntermediateSize 32 -NumLayers 1 -Untied | Out-Null
    Copy-Item (Join-Path $fixtures 'llama2/*') $model
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'ConvertTo-TokenId' {
    It 'gives Hugging Face''s ids for <_>, with and without special tokens' -ForEach @('gemma3-trimmed', 'gpt2', 'llama2', 'llama3-trimmed', 'qwen3-trimmed') {
        $cases = $reference.tokenizers[$_].cases
        $texts = [string[]]@($cases | ForEach-Object { $_.text })
        $withSpecials = ConvertTo-TokenId (Join-Path $fixtures $_) -Text $texts
        $plain = $texts | ConvertTo-TokenId (Join-Path $fixtures $_) -NoSpecialTokens
        for ($i = 0; $i -lt $cases.Count; $i++) {
            $withSpecials[$i].Ids | Should -Be $cases[$i].ids -Because "ids of '$($cases[$i].text)'"
            $plain[$i].Ids | Should -Be $cases[$i].ids_no_special
            $plain[$i].Tokens | Should -Be $cases[$i].tokens_no_special
        }
    }

    It 'loads the tokenizer''s native library from the module''s Dependencies folder' {
        $result = Invoke-FreshPwsh @"
Import-Module '$ModuleManifest'
(ConvertTo-TokenId '$fixtures/llama2' 'Hello world').Ids -join ','
Get-Content /proc/self/maps | Where-Object { `$_ -match 'libhf_tokenizers' } | ForEach-Object { (`$_ -split '\s+')[-1] } | Select-Object -Unique
"@
        $result.Output[0] | Should -Be '1,22557,1526'
        $result.Output | Should -Contain (Join-Path $ModuleDirectory 'Dependencies/libhf_tokenizers.so')
    }

    It 'works on a folder with only tokenizer files and reports a folder without tokenizer.json' {
        (ConvertTo-TokenId (Join-Path $fixtures 'qwen3-trimmed') '<think>' -NoSpecialTokens).Ids | Should -Be @(12024)
        { ConvertTo-TokenId $work 'x' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidTokenizer,TrainableTokens.Cmdlets.ConvertToTokenId'
    }
}

Describe 'ConvertFrom-TokenId' {
    It 'decodes what ConvertTo-TokenId gave, keeping or skipping special tokens' {
        $case = $reference.tokenizers['llama3-trimmed'].cases | Where-Object { $_.text -like 'specials:*' }
        $decoded = ConvertTo-TokenId (Join-Path $fixtures 'llama3-trimmed') $case.text | ConvertFrom-TokenId (Join-Path $fixtures 'llama3-trimmed')
        $decoded.Text | Should -BeExactly $case.decoded
        (ConvertFrom-TokenId (Join-Path $fixtures 'llama3-trimmed') -Id $case.ids -SkipSpecialTokens).Text | Should -BeExactly $case.decoded_skip_special
    }

    It 'decodes bare piped ids one at a time and refuses an id outside the vocabulary' {
        $tokens = 1, 15043 | ConvertFrom-TokenId (Join-Path $fixtures 'llama2')
        $tokens.Tokens | Should -Be @('<s>', '▁discovery')
        { ConvertFrom-TokenId (Join-Path $fixtures 'llama2') -Id 32000 -ErrorAction Stop } | Should -Throw -ErrorId 'TokenIdOutOfRange,TrainableTokens.Cmdlets.ConvertFromTokenId'
    }
}

Describe 'Add-TokenizerToken' {
    It 'adds tokens, grows the model and returns the new ids' {
        $out = Join-Path $work 'think'
        $added = Add-TokenizerToken -Model $model -Token '<think>', '</think>' -InitFrom Text -InitText 'begin reasoning', 'end reasoning' -OutputPath $out
        $added.Id | Should -Be @(32000, 32001)
        $added.Added | Should -Be @($true, $true)
        $added[0].VocabSize | Should -Be 32002
        (Get-Content -Raw (Join-Path $out 'config.json') | ConvertFrom-Json).vocab_size | Should -Be 32002
        # As in transformers: Llama 2's normalizer prepends '▁', and a normalized added token matches as '▁<think>', after a space.
        (ConvertTo-TokenId $out 'a <think>b' -NoSpecialTokens).Tokens | Should -Be @('▁a', '<think>', 'b')
        (ConvertTo-TokenId $out 'a <think>b' -NoSpecialTokens).Ids | Should -Contain 32000
        $forward = Invoke-TokenModel -Model $out -InputId 1, 32000, 32001 -OutFile (Join-Path $work 'forward.safetensors')
        $forward.VocabSize | Should -Be 32002
    }

    It 'says so when a token is already there, and changes nothing for it' {
        $out = Join-Path $work 'again'
        $result = Add-TokenizerToken (Join-Path $fixtures 'qwen3-trimmed') '<think>' -OutputPath $out -WarningVariable warnings -WarningAction SilentlyContinue
        $result.Added | Should -BeFalse
        $result.Id | Should -Be 12024
        $warnings.Message | Should -Match 'already in the vocabulary with id 12024'
    }

    It 'pads the vocabulary, writes nothing under -WhatIf and refuses an existing output without -Force' {
        $out = Join-Path $work 'padded'
        Add-TokenizerToken $model '<|tool|>' -Special -PadToMultipleOf 64 -OutputPath $out -WhatIf
        $out | Should -Not -Exist
        (Add-TokenizerToken $model '<|tool|>' -Special -PadToMultipleOf 64 -OutputPath $out).VocabSize | Should -Be 32064
        { Add-TokenizerToken $model '<x>' -OutputPath $out -ErrorAction Stop } | Should -Throw -ErrorId 'OutputExists,TrainableTokens.Cmdlets.AddTokenizerToken'
        (Add-TokenizerToken $model '<x>' -OutputPath $out -Force).Id | Should -Be 32000
    }
}

Describe 'Measure-TokenDataset' {
    It 'tokenises piped strings and objects, learning only completions' {
        $summary = @{ prompt = 'Q: 2+2? A:'; completion = ' 4' }, 'plain text' | Measure-TokenDataset $model
        $summary.Records | Should -Be 2
        $summary.Formats | Should -Be 'PromptCompletion=1, Text=1'
        $summary.FirstLabels[0] | Should -Be -100
        $summary.FirstLabels[-1] | Should -Be 2
    }

    It 'renders chat messages with the tokenizer''s template' {
        $chat = [pscustomobject]@{ messages = @(@{ role = 'user'; content = 'Hi' }, @{ role = 'assistant'; content = 'Hello' }) }
        $summary = $chat | Measure-TokenDataset (Join-Path $fixtures 'qwen3-trimmed')
        $summary.ChatTemplate | Should -Be 'Qwen3'
        $summary.FirstSequence[0] | Should -Be 12001
    }

    It 'reports a malformed JSONL line with its number' {
        $file = Join-Path $work 'bad.jsonl'
        Set-Content $file '{"text": "fine"}', '{"text": broken}'
        $err = { Measure-TokenDataset $model $file -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidDataset,TrainableTokens.Cmdlets.MeasureTokenDataset' -PassThru
        $err.Exception.Message | Should -Match 'bad\.jsonl'' line 2 is not valid JSON'
    }
}
