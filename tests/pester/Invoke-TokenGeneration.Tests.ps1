BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $llama3 = Join-Path $repo 'examples/models/tiny-llama3'
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-generate-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    # A folder with config.json and the tokenizer but no weights: any error that still comes out as its own id (not
    # InvalidModelFolder) was raised before the weights were needed.
    $noWeights = Join-Path $work 'no-weights'
    New-Item -ItemType Directory -Path $noWeights | Out-Null
    Copy-Item (Join-Path $llama3 '*.json') $noWeights
    function Get-GenerationError([scriptblock] $Script) {
        $ErrorActionPreference = 'Stop'
        try { $null = & $Script } catch { return $_ }
    }
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Invoke-TokenGeneration' {
    It 'continues a prompt greedily, the same every time, and prints readably' {
        $a = Invoke-TokenGeneration -Model $llama3 -Prompt 'The tiny model' -MaxNewTokens 6
        $b = Invoke-TokenGeneration -Model $llama3 -Prompt 'The tiny model' -MaxNewTokens 6
        $a.GetType().FullName | Should -Be 'TrainableTokens.Core.Generation.GenerationResult'
        $a.GeneratedIds.Count | Should -Be 6
        @($a.PromptIds) | Should -Be @((ConvertTo-TokenId $llama3 'The tiny model').Ids) -Because 'the prompt is encoded as tokenizer(text) encodes it'
        @($a.GeneratedIds) | Should -Be @($b.GeneratedIds)
        $a.Text | Should -Be (ConvertFrom-TokenId $llama3 -Id $a.GeneratedIds).Text
        "$a" | Should -Be $a.Text
        $a.StopReason | Should -Be 'MaxNewTokens'
        $a.Decoding | Should -Be 'greedy'
        $shown = $a | Out-String
        $shown | Should -Match 'Tokens\s*:\s*\d+ prompt \+ 6 generated'
        $shown | Should -Not -Match 'System\.'
    }

    It 'generates for each prompt from the pipeline, the same as one call each' {
        $prompts = 'The tiny model', 'Question:', 'The tiny model'
        $piped = @($prompts | Invoke-TokenGeneration -Model $llama3 -MaxNewTokens 4 -Verbose 4>$null)
        $piped.Count | Should -Be 3
        foreach ($i in 0..2) {
            $alone = Invoke-TokenGeneration -Model $llama3 -Prompt $prompts[$i] -MaxNewTokens 4
            @($piped[$i].GeneratedIds) | Should -Be @($alone.GeneratedIds)
        }
        # A bad prompt in the middle is its own error; the others still come out.
        $mixed = @('The tiny model', '', 'Question:' | Invoke-TokenGeneration -Model $llama3 -MaxNewTokens 2 -ErrorAction SilentlyContinue -ErrorVariable failed)
        $mixed.Count | Should -Be 2
        @($failed)[0].FullyQualifiedErrorId | Should -BeLike 'InvalidGenerationSettings,*'
    }

    It 'gives the ids of the greedy loop without a cache' {
        # The reference: Invoke-TokenModel's logits of the whole sequence, argmax of the last position, token by token.
        $ids = [System.Collections.Generic.List[int]]@(10000, 15, 27, 3)
        $expected = foreach ($step in 1..4) {
            $file = Join-Path $work "ref-$step.safetensors"
            $null = Invoke-TokenModel -Model $llama3 -InputId $ids.ToArray() -OutFile $file
            $bytes = [System.IO.File]::ReadAllBytes($file)
            $length = [BitConverter]::ToUInt64($bytes, 0)
            $header = [System.Text.Encoding]::UTF8.GetString($bytes, 8, $length) | ConvertFrom-Json -AsHashtable
            $vocab = $header.logits.shape[2]
            $start = 8 + $length + $header.logits.data_offsets[0] + ($ids.Count - 1) * $vocab * 4
            $best = 0; $bestValue = [float]::NegativeInfinity
            for ($v = 0; $v -lt $vocab; $v++) { $x = [BitConverter]::ToSingle($bytes, $start + 4 * $v); if ($x -gt $bestValue) { $best = $v; $bestValue = $x } }
            $ids.Add($best); $best
        }
        $r = Invoke-TokenGeneration $llama3 -InputId 10000, 15, 27, 3 -MaxNewTokens 4
        @($r.GeneratedIds) | Should -Be @($expected)
    }

    It 'samples reproducibly with a seed, and reports the seed it drew without one' {
        $a = Invoke-TokenGeneration $llama3 'Question:' -Temperature 20 -TopK 50 -TopP 0.95 -Seed 42 -MaxNewTokens 12
        $b = Invoke-TokenGeneration $llama3 'Question:' -Temperature 20 -TopK 50 -TopP 0.95 -Seed 42 -MaxNewTokens 12
        @($a.GeneratedIds) | Should -Be @($b.GeneratedIds)
        @($a.GeneratedIds | Select-Object -Unique).Count | Should -BeGreaterThan 3 -Because 'at temperature 20 the tiny model''s draws vary'
        $a.Decoding | Should -Be 'sampled'
        $drawn = Invoke-TokenGeneration $llama3 'Question:' -TopK 50 -MaxNewTokens 12
        $drawn.Seed | Should -Not -BeNullOrEmpty -Because '-TopK alone samples at temperature 1'
        $again = Invoke-TokenGeneration $llama3 'Question:' -TopK 50 -MaxNewTokens 12 -Seed $drawn.Seed
        @($again.GeneratedIds) | Should -Be @($drawn.GeneratedIds)
    }

    It 'streams text to the host as it comes, held back at a stop string, and the pieces are the result''s Text' {
        $free = Invoke-TokenGeneration $llama3 'Question:' -Temperature 20 -Seed 8 -MaxNewTokens 16
        $free.Text.Length | Should -BeGreaterThan 6
        $stop = $free.Text.Substring(10, 4)  # spans tokens: the stream must hold its start back
        $output = Invoke-TokenGeneration $llama3 'Question:' -Temperature 20 -Seed 8 -MaxNewTokens 16 -Stop $stop -Stream 6>&1
        $result = @($output | Where-Object { $_.PSObject.TypeNames -contains 'TrainableTokens.Core.Generation.GenerationResult' })
        $pieces = @($output | Where-Object { $_ -is [System.Management.Automation.InformationRecord] })
        $result.Count | Should -Be 1
        $result[0].StopReason | Should -Be 'StopString'
        $result[0].StoppedAt | Should -Be $stop
        $result[0].Text | Should -Be $free.Text.Substring(0, $free.Text.IndexOf($stop, [StringComparison]::Ordinal))
        $pieces.Count | Should -BeGreaterThan 1
        @($pieces | ForEach-Object { $_.Tags }) | Should -Contain 'TokenStream'
        (-join ($pieces | ForEach-Object { $_.MessageData.Message })) | Should -Be $result[0].Text
    }

    It 'stops at an eos id, keeping it in the ids and out of the text' {
        $free = Invoke-TokenGeneration $llama3 'Question:' -Temperature 20 -Seed 3 -MaxNewTokens 10
        $eos = $free.GeneratedIds[3]
        $first = [array]::IndexOf([int[]]$free.GeneratedIds, $eos)
        $r = Invoke-TokenGeneration $llama3 'Question:' -Temperature 20 -Seed 3 -MaxNewTokens 10 -EosTokenId $eos
        $r.StopReason | Should -Be 'EndOfSequence'
        $r.GeneratedIds.Count | Should -Be ($first + 1)
        $r.GeneratedIds[-1] | Should -Be $eos
    }

    It 'renders -Messages with the chat template, ending with the assistant header' {
        $messages = @(@{ role = 'system'; content = 'Answer briefly.' }, [pscustomobject]@{ role = 'user'; content = 'Hi' })
        $r = Invoke-TokenGeneration $llama3 -Messages $messages -MaxNewTokens 2
        $prompt = (ConvertFrom-TokenId $llama3 -Id $r.PromptIds).Text
        $prompt | Should -Be "<|begin_of_text|><|start_header_id|>system<|end_header_id|>`n`nAnswer briefly.<|eot_id|><|start_header_id|>user<|end_header_id|>`n`nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>`n`n"
    }

    It 'applies one or more adapters, and refuses overlapping ones' {
        $base = Invoke-TokenGeneration $llama3 -InputId 10000, 15, 27, 3 -MaxNewTokens 6
        # New rows for the prompt's tokens (and so, tied, their logits): the continuation must change.
        $a = New-TestAdapter -Path (Join-Path $work 'adapter-a') -TokenIndex 15, 27, 3 -Hidden 32 -Value -3
        $b = New-TestAdapter -Path (Join-Path $work 'adapter-b') -TokenIndex 10002, 10003 -Hidden 32 -Value -2
        $one = Invoke-TokenGeneration $llama3 -InputId 10000, 15, 27, 3 -MaxNewTokens 6 -Adapter $a.FullName
        $two = Invoke-TokenGeneration $llama3 -InputId 10000, 15, 27, 3 -MaxNewTokens 6 -Adapter $a.FullName, $b.FullName
        @($one.GeneratedIds) | Should -Not -Be @($base.GeneratedIds)
        $two.Adapters.Count | Should -Be 2
        $overlap = New-TestAdapter -Path (Join-Path $work 'adapter-overlap') -TokenIndex 10003 -Hidden 32
        $e = Get-GenerationError { Invoke-TokenGeneration $llama3 'x' -Adapter $b.FullName, $overlap.FullName }
        $e.FullyQualifiedErrorId | Should -BeLike 'OverlappingAdapters,*'
    }

    Context 'bad input: an error record with its id, before the weights are read' {
        It '<Name>' -ForEach @(
            @{ Name = 'a prompt longer than max_position_embeddings'; Id = 'PromptTooLong'; Category = 'InvalidArgument'; Match = '129 tokens.*128 positions \(max_position_embeddings'; Call = { Invoke-TokenGeneration $noWeights -InputId (1..129) } }
            @{ Name = 'prompt plus MaxNewTokens past the positions'; Id = 'PromptTooLong'; Category = 'InvalidArgument'; Match = 'MaxNewTokens 28 or less'; Call = { Invoke-TokenGeneration $noWeights -InputId (1..100) -MaxNewTokens 29 } }
            @{ Name = 'MaxNewTokens below 1'; Id = 'InvalidGenerationSettings'; Category = 'InvalidArgument'; Match = 'MaxNewTokens is 0'; Call = { Invoke-TokenGeneration $noWeights 'x' -MaxNewTokens 0 } }
            @{ Name = 'a negative temperature'; Id = 'InvalidGenerationSettings'; Category = 'InvalidArgument'; Match = 'Temperature is -1'; Call = { Invoke-TokenGeneration $noWeights 'x' -Temperature -1 } }
            @{ Name = 'top-p outside (0, 1]'; Id = 'InvalidGenerationSettings'; Category = 'InvalidArgument'; Match = 'TopP is 1.5'; Call = { Invoke-TokenGeneration $noWeights 'x' -TopP 1.5 } }
            @{ Name = 'a negative top-k'; Id = 'InvalidGenerationSettings'; Category = 'InvalidArgument'; Match = 'TopK is -2'; Call = { Invoke-TokenGeneration $noWeights 'x' -TopK -2 } }
            @{ Name = 'an adapter for a model of another hidden size'; Id = 'InvalidAdapter'; Category = 'InvalidData'; Match = 'hidden size 32.*another model'; Call = { Invoke-TokenGeneration $noWeights 'x' -Adapter (New-TestAdapter -Path (Join-Path $work 'wide') -TokenIndex 5 -Hidden 64).FullName } }
            @{ Name = 'an adapter for a model with more tokens'; Id = 'InvalidAdapter'; Category = 'InvalidData'; Match = '20000.*vocabulary of 10256'; Call = { Invoke-TokenGeneration $noWeights 'x' -Adapter (New-TestAdapter -Path (Join-Path $work 'big') -TokenIndex 20000 -Hidden 32).FullName } }
        ) {
            $e = Get-GenerationError $Call
            $e | Should -Not -BeNullOrEmpty
            $e.FullyQualifiedErrorId | Should -BeLike "$Id,*"
            "$($e.CategoryInfo.Category)" | Should -Be $Category
            $e.Exception.Message | Should -Match $Match
        }

        It 'a tokenizer without a chat template, and one it cannot render, when -Messages is used' {
            $none = Join-Path $work 'no-template'
            New-Item -ItemType Directory -Path $none | Out-Null
            Copy-Item (Join-Path $noWeights '*') $none
            $config = Get-Content -Raw (Join-Path $none 'tokenizer_config.json') | ConvertFrom-Json -AsHashtable
            $config.Remove('chat_template')
            $config | ConvertTo-Json -Depth 10 | Set-Content (Join-Path $none 'tokenizer_config.json')
            $e = Get-GenerationError { Invoke-TokenGeneration $none -Messages @{ role = 'user'; content = 'Hi' } }
            $e.FullyQualifiedErrorId | Should -BeLike 'ChatTemplateUnavailable,*'
            $e.Exception.Message | Should -Match 'has none'

            $config.chat_template = "{{ 'You are a pirate.' }}{% for m in messages %}{{ m['content'] }}{% endfor %}"
            $config | ConvertTo-Json -Depth 10 | Set-Content (Join-Path $none 'tokenizer_config.json')
            $e = Get-GenerationError { Invoke-TokenGeneration $none -Messages @{ role = 'user'; content = 'Hi' } }
            $e.FullyQualifiedErrorId | Should -BeLike 'ChatTemplateUnavailable,*'
            $e.Exception.Message | Should -Match 'not one this module can render'
        }

        It 'a -Messages entry without a role or a content' {
            $e = Get-GenerationError { Invoke-TokenGeneration $noWeights -Messages @{ content = 'Hi' } }
            $e.FullyQualifiedErrorId | Should -BeLike 'InvalidGenerationSettings,*'
            "$($e.CategoryInfo.Category)" | Should -Be 'InvalidArgument'
            $e.Exception.Message | Should -Match '-Messages\[0\] needs a role and a content.*no role'
        }

        It 'a GPT-2 prompt longer than n_positions' {
            $gpt2 = New-TinyModel gpt2 (Join-Path $work 'gpt2') -MaxPositions 16
            $e = Get-GenerationError { Invoke-TokenGeneration $gpt2.Path -InputId (1..17) -MaxNewTokens 1 }
            $e.FullyQualifiedErrorId | Should -BeLike 'PromptTooLong,*'
            $e.Exception.Message | Should -Match '16 positions \(n_positions'
        }
    }

    It 'runs every example of its help as written, from the repository root' {
        $examples = @((Get-Help Invoke-TokenGeneration -Full).Examples.Example)
        $examples.Count | Should -BeGreaterOrEqual 4
        Push-Location $repo
        try {
            foreach ($example in $examples) {
                $code = ($example.Code -join "`n")
                $output = & ([scriptblock]::Create($code)) 6>$null
                $output | Should -Not -BeNullOrEmpty -Because "the example '$($example.Title)' writes something"
            }
        }
        finally {
            Pop-Location
            Remove-Item -Recurse -Force (Join-Path $repo 'out/generation-example-adapter') -ErrorAction SilentlyContinue
        }
    }
}
