BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-mergecmd-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    $model = (New-TinyModel llama (Join-Path $work 'llama') -Tied -Seed 5).Path
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Get-TokenAdapter' {
    It 'describes an adapter folder: token ids, target, tensors with shapes and dtype' {
        $adapter = New-TestAdapter -Path (Join-Path $work 'think') -TokenIndex 7, 8
        $info = Get-TokenAdapter $adapter.FullName
        $info.PeftType | Should -Be 'TRAINABLE_TOKENS'
        $info.TokenIndices | Should -Be @(7, 8)
        $info.TargetModules | Should -Be 'model.embed_tokens'
        $info.Tensors[0].Name | Should -Be 'base_model.model.model.embed_tokens.trainable_tokens_delta'
        $info.Tensors[0].Shape | Should -Be @(2, 64)
        $info.Tensors[0].Dtype | Should -Be 'F32'
    }

    It 'takes folders from the pipeline' {
        $a = New-TestAdapter -Path (Join-Path $work 'pipe/a') -TokenIndex 1
        $b = New-TestAdapter -Path (Join-Path $work 'pipe/b') -TokenIndex 2
        (Get-ChildItem (Join-Path $work 'pipe') -Directory | Get-TokenAdapter).TokenIndices | Should -Be @(1, 2)
    }

    It 'refuses a pickle adapter with InvalidAdapter' {
        $p = New-Item -ItemType Directory -Path (Join-Path $work 'pickle')
        '{"peft_type": "TRAINABLE_TOKENS", "token_indices": [1]}' | Set-Content (Join-Path $p 'adapter_config.json')
        [System.IO.File]::WriteAllBytes((Join-Path $p 'adapter_model.bin'), [byte[]](0x80, 2))
        $err = $null
        Get-TokenAdapter $p.FullName -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidAdapter,*'
        $err[0].Exception.Message | Should -Match 'pickle'
    }
}

Describe 'Merge-TokenAdapter' {
    It 'writes a merged folder whose other files are byte-identical, and says what changed' {
        $adapter = New-TestAdapter -Path (Join-Path $work 'm1') -TokenIndex 9, 4
        $out = Join-Path $work 'merged'
        $result = Merge-TokenAdapter -Model $model -Adapter $adapter.FullName -OutputPath $out
        $result.Changes.Count | Should -Be 1
        $result.Changes[0].Tensor | Should -Be 'model.embed_tokens.weight'
        $result.Changes[0].TokenIndices | Should -Be @(9, 4)
        (Get-FileHash (Join-Path $out 'config.json')).Hash | Should -Be (Get-FileHash (Join-Path $model 'config.json')).Hash
        (Get-FileHash (Join-Path $out 'model.safetensors')).Hash | Should -Not -Be (Get-FileHash (Join-Path $model 'model.safetensors')).Hash
        (Get-Item (Join-Path $out 'model.safetensors')).Length | Should -Be (Get-Item (Join-Path $model 'model.safetensors')).Length
    }

    It 'writes nothing with -WhatIf, after checking everything' {
        $adapter = New-TestAdapter -Path (Join-Path $work 'm2') -TokenIndex 3
        Merge-TokenAdapter -Model $model -Adapter $adapter.FullName -OutputPath (Join-Path $work 'whatif') -WhatIf
        Join-Path $work 'whatif' | Should -Not -Exist
        $bad = New-TestAdapter -Path (Join-Path $work 'm2bad') -TokenIndex 500
        $err = $null
        Merge-TokenAdapter -Model $model -Adapter $bad.FullName -OutputPath (Join-Path $work 'whatif2') -WhatIf -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].Exception.Message | Should -Match '500'
    }

    It 'refuses overlapping adapters and writes nothing' {
        $a = New-TestAdapter -Path (Join-Path $work 'ov/a') -TokenIndex 1, 2
        $b = New-TestAdapter -Path (Join-Path $work 'ov/b') -TokenIndex 2, 3
        $out = Join-Path $work 'overlap'
        $err = $null
        Merge-TokenAdapter -Model $model -Adapter $a.FullName, $b.FullName -OutputPath $out -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'OverlappingAdapters,*'
        $err[0].Exception.Message | Should -Match "'b'.*'a'.*2"
        $out | Should -Not -Exist
        @(Get-ChildItem $work -Force | Where-Object Name -Like '.overlap*').Count | Should -Be 0
    }

    It 'merges disjoint adapters from the pipeline' {
        $null = New-TestAdapter -Path (Join-Path $work 'disjoint/a') -TokenIndex 10
        $null = New-TestAdapter -Path (Join-Path $work 'disjoint/b') -TokenIndex 11 -Value -0.5
        $result = Get-ChildItem (Join-Path $work 'disjoint') -Directory | Merge-TokenAdapter -Model $model -OutputPath (Join-Path $work 'both')
        $result.Adapters | Should -Be @('a', 'b')
    }

    It 'replaces an existing output only with -Force' {
        $adapter = New-TestAdapter -Path (Join-Path $work 'm3') -TokenIndex 3
        $out = New-Item -ItemType Directory -Path (Join-Path $work 'existing')
        { Merge-TokenAdapter -Model $model -Adapter $adapter.FullName -OutputPath $out.FullName -ErrorAction Stop } | Should -Throw '*already exists*-Force*'
        $null = Merge-TokenAdapter -Model $model -Adapter $adapter.FullName -OutputPath $out.FullName -Force
        Join-Path $out.FullName 'model.safetensors' | Should -Exist
    }

    It 'gives the merged model the adapted outputs' {
        $adapter = New-TestAdapter -Path (Join-Path $work 'm4') -TokenIndex 5, 6 -Value 0.2
        $out = Join-Path $work 'merged-out'
        $null = Merge-TokenAdapter -Model $model -Adapter $adapter.FullName -OutputPath $out
        $viaAdapter = Invoke-TokenModel -Model $model -Adapter $adapter.FullName -InputId 1, 5, 6 -OutFile (Join-Path $work 'a.safetensors')
        $viaMerge = Invoke-TokenModel -Model $out -InputId 1, 5, 6 -OutFile (Join-Path $work 'b.safetensors')
        $base = Invoke-TokenModel -Model $model -InputId 1, 5, 6 -OutFile (Join-Path $work 'c.safetensors')
        # hidden_states.0 is exact: the merged rows are the adapter's rows.
        function Hidden0([string] $file) {
            $bytes = [System.IO.File]::ReadAllBytes($file); $n = [BitConverter]::ToUInt64($bytes, 0)
            $h = [System.Text.Encoding]::UTF8.GetString($bytes, 8, $n) | ConvertFrom-Json -AsHashtable
            $o = $h['hidden_states.0'].data_offsets; [System.Convert]::ToBase64String($bytes, 8 + $n + $o[0], $o[1] - $o[0])
        }
        Hidden0 $viaMerge.OutFile | Should -Be (Hidden0 $viaAdapter.OutFile)
        Hidden0 $viaMerge.OutFile | Should -Not -Be (Hidden0 $base.OutFile)
    }
}
