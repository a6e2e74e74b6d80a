BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-arch-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    $examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
    $tokenizer = Join-Path $examples 'models/tiny-llama3'
    $tokens = '<|reserved_special_token_0|>', '<|reserved_special_token_1|>'

}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Each architecture issue 11 added, end to end through the cmdlets' {
    It '<Type>: New-TinyModel -Tokenizer, Test, Start, Invoke -Adapter and Merge agree' -ForEach @(
        @{ Type = 'qwen3' }, @{ Type = 'gemma2' }, @{ Type = 'gemma3_text' }, @{ Type = 'gemma3' },
        @{ Type = 'phi3' }, @{ Type = 'smollm3' }, @{ Type = 'olmo2' }
    ) {
        $model = Join-Path $work $Type
        $made = New-TinyModel $Type $model -Tokenizer $tokenizer -HiddenSize 32 -IntermediateSize 64 -NumLayers 2 -Seed 3
        $made.ModelType | Should -Be $Type
        $made.VocabSize | Should -Be 10256
        $run = New-TrainableTokensConfig -Token $tokens -Model $model -IncludeOutputHead -Dataset (Join-Path $examples 'data/quickstart.jsonl') `
            -OutputDir (Join-Path $work "$Type-adapter") -MaxSteps 2 -BatchSize 2 -MaxSeqLength 48 -LearningRate 0.05 -Path (Join-Path $work "$Type.run.yaml")
        @(Test-TrainableTokensConfig -Path $run.FullName | Where-Object Severity -eq 'Error') | Should -BeNullOrEmpty

        $result = Start-TokenTraining -Path $run.FullName
        $result.Steps | Should -Be 2
        $adapter = Get-TokenAdapter $result.AdapterFolder
        $expected = if ($Type -eq 'gemma3') { 'model.language_model.embed_tokens' } else { 'model.embed_tokens' }
        # An untied head (qwen3, phi3, olmo2 by default) trains its rows too.
        $adapter.Modules[0] | Should -Be $expected
        $adapter.HeadRows | Should -BeIn @('Own', 'TiedCopy')

        $ids = 10002, 10003, 42, 7
        $null = Invoke-TokenModel $model -InputId $ids -Adapter $result.AdapterFolder -OutFile (Join-Path $work "$Type-adapted.safetensors")
        $merged = Merge-TokenAdapter $model $result.AdapterFolder -OutputPath (Join-Path $work "$Type-merged")
        $merged.Changes.Tensor | Should -Contain ($(if ($Type -eq 'gemma3') { 'language_model.model.embed_tokens.weight' } else { 'model.embed_tokens.weight' }))
        $null = Invoke-TokenModel (Join-Path $work "$Type-merged") -InputId $ids -OutFile (Join-Path $work "$Type-merged.safetensors")
        $null = Invoke-TokenModel $model -InputId $ids -OutFile (Join-Path $work "$Type-base.safetensors")
        $a = Read-F32Tensor (Join-Path $work "$Type-adapted.safetensors") 'logits'
        $m = Read-F32Tensor (Join-Path $work "$Type-merged.safetensors") 'logits'
        $b = Read-F32Tensor (Join-Path $work "$Type-base.safetensors") 'logits'
        $a.Length | Should -Be (4 * 10256)
        $diff = 0.0; $changed = 0.0
        for ($i = 0; $i -lt $a.Length; $i++) {
            $diff = [math]::Max($diff, [math]::Abs($a[$i] - $m[$i]))
            $changed = [math]::Max($changed, [math]::Abs($a[$i] - $b[$i]))
        }
        $diff | Should -BeLessOrEqual 1e-5
        $changed | Should -BeGreaterThan 1e-4
    }
}
