BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-lora-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    $examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
    $model = Join-Path $examples 'models/tiny-llama3'
    $data = Join-Path $examples 'data/quickstart.jsonl'
    # The tiny Llama 3: hidden 32, 4 heads of 8, 2 key/value heads, 2 layers.
    $pairs = [ordered]@{}
    foreach ($layer in 0, 1) {
        $pairs["model.layers.$layer.self_attn.q_proj"] = @(32, 32)
        $pairs["model.layers.$layer.self_attn.v_proj"] = @(16, 32)
    }
    $lora = (New-TestLoraAdapter (Join-Path $work 'lora') -Pair $pairs -BaseModel $model).FullName
    $merged = Merge-TokenAdapter $model $lora -OutputPath (Join-Path $work 'merged')

}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'LoRA adapters' {
    It 'Merge-TokenAdapter merges the pairs of a PEFT LoRA adapter into the targeted projections only' {
        $merged.Changes | Should -BeNullOrEmpty
        @($merged.Tensors.Tensor | Sort-Object) | Should -Be @($pairs.Keys | ForEach-Object { "$_.weight" } | Sort-Object)
        $merged.Tensors[0].Change | Should -Match '^\+ 2 \* B @ A \(rank 2\)$'
        $merged.Tensors[0].GetType().FullName | Should -Be 'TrainableTokens.Core.Merging.MergedTensor'
        $check = Test-TokenAdapter -Model $model -MergedModel $merged.OutputPath
        $check.Detail | Should -Match 'model\.layers\.0\.self_attn\.q_proj\.weight'
        $check.Detail | Should -Not -Match 'k_proj|embed_tokens|mlp'
    }

    It 'Invoke-TokenModel with the adapter gives the merged model''s logits' {
        $ids = 10000, 15, 27, 3, 99
        $null = Invoke-TokenModel -Model $model -InputId $ids -Adapter $lora -OutFile (Join-Path $work 'with.safetensors')
        $null = Invoke-TokenModel -Model $merged.OutputPath -InputId $ids -OutFile (Join-Path $work 'merged.safetensors')
        $null = Invoke-TokenModel -Model $model -InputId $ids -OutFile (Join-Path $work 'base.safetensors')
        $with = Read-F32Tensor (Join-Path $work 'with.safetensors') 'logits'
        $mergedLogits = Read-F32Tensor (Join-Path $work 'merged.safetensors') 'logits'
        $base = Read-F32Tensor (Join-Path $work 'base.safetensors') 'logits'
        [double] $most = 0; [double] $fromBase = 0
        for ($i = 0; $i -lt $with.Count; $i++) {
            $most = [math]::Max($most, [math]::Abs([double]$with[$i] - [double]$mergedLogits[$i]))
            $fromBase = [math]::Max($fromBase, [math]::Abs([double]$with[$i] - [double]$base[$i]))
        }
        $most | Should -BeLessThan 1e-4
        $fromBase | Should -BeGreaterThan 1e-3 -Because 'the adapter changes the model'
    }

    It 'Measure-TokenModel scores a text with the adapter as the merged model does, and takes the model from the adapter' {
        $text = 'Question: what is two plus two?'
        $a = Measure-TokenModel -Adapter $lora -Text $text
        $m = Measure-TokenModel -Model $merged.OutputPath -Text $text
        $a.Model | Should -Be $model
        for ($i = 0; $i -lt $a.Tokens.Count; $i++) { [math]::Abs($a.Tokens[$i].LogProbability - $m.Tokens[$i].LogProbability) | Should -BeLessThan 1e-4 }
        $c = Measure-TokenModel -Model $model -Adapter $lora -Dataset $data -MaxSeqLength 64 -Compare
        $c.AdaptedLoss | Should -Not -Be $c.BaseLoss
    }

    It 'Invoke-TokenGeneration with the adapter generates what the merged model generates' {
        $a = Invoke-TokenGeneration -Model $model -Adapter $lora -Prompt 'The tiny model' -MaxNewTokens 8
        $m = Invoke-TokenGeneration -Model $merged.OutputPath -Prompt 'The tiny model' -MaxNewTokens 8
        @($a.GeneratedIds) | Should -Be @($m.GeneratedIds)
    }

    It 'Test-TokenAdapter passes a LoRA adapter and says which tensors it may change' {
        $checks = Test-TokenAdapter -Adapter $lora -Dataset $data -MaxSeqLength 64
        $checks.Name | Should -Be @('PeftLayout', 'RowsFinite', 'MatchesModel', 'OnlyListedRowsChange', 'EvalLossLower')
        $checks[0..3] | ForEach-Object { $_.Passed | Should -BeTrue -Because "$_" }
        $checks[0].Detail | Should -Match 'LORA, 4 LoRA pair'
        $checks[3].Detail | Should -Match 'changed: 4 of the 4 targeted or saved tensor\(s\)'
    }

    It 'merges LoRA with trainable tokens: the pairs and the token rows' {
        $combined = New-TestLoraAdapter (Join-Path $work 'combined') -Pair $pairs -TokenIndex 10002, 10003
        $result = Merge-TokenAdapter $model $combined.FullName -OutputPath (Join-Path $work 'merged-combined')
        $result.Changes.Tensor | Should -Be 'model.embed_tokens.weight'
        @($result.Changes.TokenIndices) | Should -Be @(10002, 10003)
        $result.Tensors.Count | Should -Be 4
        (Test-TokenAdapter -Model $model -Adapter $combined.FullName | Where-Object Name -EQ 'OnlyListedRowsChange').Detail | Should -Match 'rows 10002, 10003 of model\.embed_tokens\.weight'
    }

    It 'refuses with -SafeMerge a merge whose result is not finite, and -WhatIf writes nothing' {
        $huge = New-TestLoraAdapter (Join-Path $work 'huge') -Pair $pairs -Scale 1e39 -Alpha 40000
        $out = Join-Path $work 'merged-huge'
        $err = $null
        Merge-TokenAdapter $model $huge.FullName -OutputPath $out -SafeMerge -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidAdapter,*'
        $err[0].Exception.Message | Should -Match 'NaN or infinite.*nothing was written'
        Test-Path $out | Should -BeFalse
        $verbose = Merge-TokenAdapter $model $lora -OutputPath $out -WhatIf -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose.Message -join "`n") | Should -Match 'q_proj\.weight.*\+ 2 \* B @ A'
        Test-Path $out | Should -BeFalse
    }

    It 'refuses a LoRA adapter for another model before loading it' {
        $tiny = (New-TinyModel llama (Join-Path $work 'other') -Seed 1).Path
        { Measure-TokenModel -Model $tiny -Adapter $lora -Text 'hello there' -ErrorAction Stop } | Should -Throw '*does not fit the model*'
        { Merge-TokenAdapter $tiny $lora -OutputPath (Join-Path $work 'merged-other') -ErrorAction Stop } | Should -Throw '*lora_B.weight*'
    }
}
