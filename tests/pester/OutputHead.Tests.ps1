BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-head-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    $examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
    # An untied Llama with the tiny Llama 3 tokenizer of the examples (its reserved tokens stand in for new ones).
    $untied = Join-Path $work 'untied'
    New-TinyModel llama $untied -Untied -VocabSize 10256 -HiddenSize 32 -IntermediateSize 64 -NumLayers 1 -Seed 2 | Out-Null
    Copy-Item (Join-Path $examples 'models/tiny-llama3/tokenizer*.json') $untied
    $tokens = '<|reserved_special_token_0|>', '<|reserved_special_token_1|>'

}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Training an untied model''s output head' {
    It 'is checked, trained, described, run and merged with the head''s rows beside the embedding''s' {
        $run = New-TrainableTokensConfig -Token $tokens -Model $untied -IncludeOutputHead -Dataset (Join-Path $examples 'data/quickstart.jsonl') `
            -OutputDir (Join-Path $work 'adapter') -MaxSteps 3 -BatchSize 2 -MaxSeqLength 64 -LearningRate 0.05 -Path (Join-Path $work 'head.run.yaml')
        Get-Content -Raw $run.FullName | Should -Match '(?m)^  target_modules: \[embed_tokens, lm_head\]$'
        @(Test-TrainableTokensConfig -Path $run.FullName | Where-Object Severity -eq 'Error') | Should -BeNullOrEmpty

        $result = Start-TokenTraining -Path $run.FullName
        $result.Steps | Should -Be 3

        $adapter = Get-TokenAdapter $result.AdapterFolder
        $adapter.HeadRows | Should -Be 'Own'
        $adapter.Modules | Should -Be @('model.embed_tokens', 'lm_head')
        @($adapter.Tensors.Name | Sort-Object) | Should -Be @('base_model.model.lm_head.trainable_tokens_delta', 'base_model.model.model.embed_tokens.trainable_tokens_delta')

        $ids = 10002, 10003, 42
        $withAdapter = Invoke-TokenModel $untied -InputId $ids -Adapter $result.AdapterFolder -OutFile (Join-Path $work 'adapted.safetensors')
        $withAdapter.Tensors | Should -Contain 'logits'
        $merged = Merge-TokenAdapter $untied $result.AdapterFolder -OutputPath (Join-Path $work 'merged')
        @($merged.Changes.Tensor | Sort-Object) | Should -Be @('lm_head.weight', 'model.embed_tokens.weight')
        $null = Invoke-TokenModel (Join-Path $work 'merged') -InputId $ids -OutFile (Join-Path $work 'merged.safetensors')
        # Same logits either way: the merged folder was written without loading the model.
        $a = Read-F32Tensor (Join-Path $work 'adapted.safetensors') 'logits'
        $m = Read-F32Tensor (Join-Path $work 'merged.safetensors') 'logits'
        $null = Invoke-TokenModel $untied -InputId $ids -OutFile (Join-Path $work 'base.safetensors')
        $base = Read-F32Tensor (Join-Path $work 'base.safetensors') 'logits'
        $a.Length | Should -Be (3 * 10256)
        $diff = 0.0; $headChanged = $false
        for ($i = 0; $i -lt $a.Length; $i++) {
            $diff = [math]::Max($diff, [math]::Abs($a[$i] - $m[$i]))
            # The trained head rows change their tokens' logits even at the position of an untrained token (42).
            if (($i -eq 2 * 10256 + 10002) -and $a[$i] -ne $base[$i]) { $headChanged = $true }
        }
        $diff | Should -BeLessOrEqual 1e-5
        $headChanged | Should -BeTrue
    }

    It 'describes a tied model''s adapter as one set of rows with the head''s copy, as PEFT 0.20+ writes it' {
        $config = New-QuickstartRunFile (Join-Path $work 'tied.run.yaml') (Join-Path $work 'tied-out') @{ 'num_train_epochs: 3.0' = 'max_steps: 1' }
        $result = Start-TokenTraining -Path $config
        $adapter = Get-TokenAdapter $result.AdapterFolder
        $adapter.HeadRows | Should -Be 'TiedCopy'
        $adapter.Modules | Should -Be @('model.embed_tokens')
        @($adapter.Tensors.Name | Sort-Object) | Should -Be @('base_model.model.lm_head.trainable_tokens_delta', 'base_model.model.model.embed_tokens.trainable_tokens_delta')
    }
}
