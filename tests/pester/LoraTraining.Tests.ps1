BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-lora-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    $examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
    $data = Join-Path $examples 'data/quickstart.jsonl'
    # A tiny untied Llama with the real Llama 3 tokenizer: LoRA on its projections, the head's rows trainable too.
    $model = Join-Path $work 'model'
    New-TinyModel llama $model -Tokenizer (Join-Path $examples 'models/tiny-llama3') -HiddenSize 32 -IntermediateSize 64 -NumLayers 2 -Untied -Seed 5 | Out-Null


    function New-LoraRun {
        param([string] $Name, [hashtable] $More = @{})
        $settings = @{
            Method = 'Lora'; Rank = 4; Alpha = 8; Dropout = 0.1; TargetModule = 'q_proj', 'v_proj'
            Model = $model; Dataset = $data; OutputDir = (Join-Path $work "$Name-out"); MaxSteps = 4; BatchSize = 1; MaxSeqLength = 48
            LearningRate = 0.01; SaveSteps = 2; LoggingSteps = 1; EvalSplit = 0.25; Path = (Join-Path $work "$Name.run.yaml")
        }
        foreach ($key in $More.Keys) { $settings[$key] = $More[$key] }
        (New-TrainableTokensConfig @settings).FullName
    }
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'LoRA runs' {
    It 'New-TrainableTokensConfig -Method Lora writes a lora section with PEFT''s names' {
        $run = New-LoraRun 'written' @{ TokenIndex = 10002, 10003; RankPattern = @{ v_proj = 2 }; InitLoraWeights = 'gaussian' }
        $text = Get-Content -Raw $run
        $text | Should -Match '(?m)^lora:$'
        $text | Should -Not -Match '(?m)^trainable_tokens:'
        $text | Should -Match '(?m)^  r: 4$'
        $text | Should -Match '(?m)^  lora_alpha: 8(\.0)?$'
        $text | Should -Match '(?m)^  lora_dropout: 0\.1$'
        $text | Should -Match '(?m)^  target_modules: \[q_proj, v_proj\]$'
        $text | Should -Match '(?m)^  trainable_token_indices: \[10002,10003\]$'
        $text | Should -Match '(?m)^  rank_pattern: \{"v_proj":2\}$'
        $text | Should -Match '(?m)^  init_lora_weights: "gaussian"$'
        @(Test-TrainableTokensConfig -Path $run | Where-Object Severity -eq 'Error') | Should -BeNullOrEmpty
    }

    It 'refuses LoRA parameters without -Method Lora and a bad LoRA setting, naming the parameter' {
        { New-TrainableTokensConfig -TokenIndex 5 -Rank 4 -ErrorAction Stop } | Should -Throw '*-Rank is a LoRA setting; add -Method Lora*'
        New-TrainableTokensConfig -Method Lora -Rank 0 -Dropout 1 -ErrorVariable errs -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        ($errs.Exception.Message -join "`n") | Should -Match '-Rank: .*1 or more'
        ($errs.Exception.Message -join "`n") | Should -Match '-Dropout: .*less than 1'
    }

    It 'Test-TrainableTokensConfig reports targets that match nothing, listing the projections, and token ids past the vocabulary' {
        $run = New-LoraRun 'bad' @{ TargetModule = 'qkv_proj'; TokenIndex = 5, 99999 }
        $findings = @(Test-TrainableTokensConfig -Path $run -ErrorAction SilentlyContinue | Where-Object Severity -eq 'Error')
        $findings.Field | Should -Contain 'lora.target_modules'
        $findings.Field | Should -Contain 'lora.trainable_token_indices'
        ($findings.Message -join "`n") | Should -Match 'model\.layers\.0\.self_attn\.q_proj'
        ($findings.Message -join "`n") | Should -Match '99999'
        Start-TokenTraining -Path $run -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Test-Path (Join-Path $work 'bad-out') | Should -BeFalse
    }

    It 'Start-TokenTraining trains a LoRA adapter with metrics, and Get-TokenAdapter shows its rank, alpha and targets' {
        $run = New-LoraRun 'trained' @{ LearningRate = 0.1; MaxSteps = 8 }
        $result = Start-TokenTraining -Path $run
        $result.Steps | Should -Be 8
        $result.EvalLoss | Should -BeLessThan $result.EvalLossBefore
        $result.MetricsFile | Should -Exist
        $result.LossCurveFile | Should -Exist
        $adapter = Get-TokenAdapter $result.AdapterFolder
        $adapter | Should -BeOfType ([TrainableTokens.LoraAdapterSummary])
        $adapter.PeftType | Should -Be 'LORA'
        $adapter.Rank | Should -Be 4
        $adapter.LoraAlpha | Should -Be 8
        $adapter.TargetModules | Should -Be '[q_proj, v_proj]'
        $adapter.Modules | Should -Be @('model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj')
        $adapter.Ranks['model.layers.1.self_attn.v_proj'] | Should -Be 4
        @($adapter.Tensors).Count | Should -Be 8
        $adapter.TokenIndices | Should -BeNullOrEmpty
        (Get-Content -Raw (Join-Path $result.AdapterFolder 'adapter_config.json') | ConvertFrom-Json).peft_type | Should -Be 'LORA'
    }

    It 'trains LoRA with token rows of the embedding and the untied head, and the merged model gives the adapter''s logits' {
        $run = New-LoraRun 'rows' @{ TokenIndex = 10002, 10003; IncludeOutputHead = $true; LearningRate = 0.05; MaxSteps = 4 }
        $result = Start-TokenTraining -Path $run
        $adapter = Get-TokenAdapter $result.AdapterFolder
        $adapter.TokenIndicesByModule['lm_head'] | Should -Be @(10002, 10003)
        $adapter.TokenIndicesByModule['embed_tokens'] | Should -Be @(10002, 10003)
        @($adapter.Tensors.Name) | Should -Contain 'base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta'
        @($adapter.Tensors.Name) | Should -Contain 'base_model.model.lm_head.token_adapter.trainable_tokens_delta'
        $merged = Merge-TokenAdapter -Model $model -Adapter $result.AdapterFolder -OutputPath (Join-Path $work 'rows-merged')
        $ids = 1, 10002, 15, 10003, 27
        $null = Invoke-TokenModel -Model $model -InputId $ids -Adapter $result.AdapterFolder -OutFile (Join-Path $work 'rows-with.safetensors')
        $null = Invoke-TokenModel -Model $merged.OutputPath -InputId $ids -OutFile (Join-Path $work 'rows-merged.safetensors')
        $with = Read-F32Tensor (Join-Path $work 'rows-with.safetensors') 'logits'
        $mergedLogits = Read-F32Tensor (Join-Path $work 'rows-merged.safetensors') 'logits'
        [double] $most = 0
        for ($i = 0; $i -lt $with.Count; $i++) { $most = [math]::Max($most, [math]::Abs([double]$with[$i] - [double]$mergedLogits[$i])) }
        $most | Should -BeLessThan 1e-4
        $check = Test-TokenAdapter -Model $model -MergedModel $merged.OutputPath
        $check.Outcome | Should -Be 'Passed'
    }

    It '-Resume latest continues a LoRA run with dropout to the same adapter as the uninterrupted one' {
        $whole = New-LoraRun 'whole'
        $part = New-LoraRun 'part'
        Start-TokenTraining -Path $whole | Out-Null
        # As if the part run had been stopped after its checkpoint at step 2.
        New-Item -ItemType Directory (Join-Path $work 'part-out') | Out-Null
        Copy-Item -Recurse (Join-Path $work 'whole-out/checkpoint-2') (Join-Path $work 'part-out/checkpoint-2')
        $resumed = Start-TokenTraining -Path $part -Resume latest
        $resumed.Steps | Should -Be 4
        (Get-FileHash (Join-Path $work 'part-out/adapter_model.safetensors')).Hash | Should -Be (Get-FileHash (Join-Path $work 'whole-out/adapter_model.safetensors')).Hash
        (Get-Content (Join-Path $work 'part-out/checkpoint-4/trainer_state.json') | ConvertFrom-Json).peft_type | Should -Be 'LORA'
    }

    It 'the shipped examples/lora.run.yaml checks clean and trains' {
        $example = Join-Path $examples 'lora.run.yaml'
        @(Test-TrainableTokensConfig -Path $example | Where-Object Severity -eq 'Error') | Should -BeNullOrEmpty
        $result = Start-TokenTraining -Path $example -MaxSteps 2 -OutputPath (Join-Path $work 'example-out')
        $result.Steps | Should -Be 2
        (Get-TokenAdapter $result.AdapterFolder).Rank | Should -Be 8
    }

    It 'refuses to resume a LoRA checkpoint with another rank, naming -Resume' {
        $run = New-LoraRun 'otherrank' @{ Rank = 8; OutputDir = (Join-Path $work 'whole-out'); OverwriteOutputDir = $true }
        Start-TokenTraining -Path $run -Resume latest -ErrorVariable errs -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $errs.TargetObject.Field | Should -Contain '-Resume'
        ($errs.Exception.Message -join "`n") | Should -Match 'LoRA settings'
    }
}
