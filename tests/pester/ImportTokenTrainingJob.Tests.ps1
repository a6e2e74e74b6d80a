BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-import-job-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    $examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
    $model = Join-Path $examples 'models/tiny-llama3'
    $data = Join-Path $examples 'data/quickstart.jsonl'

    # What a job's PEFT run would have saved for the same run files: adapters trained here by the engine.
    $run = New-QuickstartRunFile -Path (Join-Path $work 'tokens.run.yaml') -OutputDir (Join-Path $work 'tokens-out')
    $tokens = (Start-TokenTraining $run -MaxSteps 2).AdapterFolder
    $loraRun = (New-TrainableTokensConfig -Method Lora -Rank 4 -Alpha 8 -Dropout 0 -TargetModule q_proj, v_proj -TokenIndex 10002, 10003 `
            -Model $model -Dataset $data -OutputDir (Join-Path $work 'lora-out') -MaxSteps 2 -BatchSize 2 -MaxSeqLength 48 -Path (Join-Path $work 'lora.run.yaml')).FullName
    $lora = (Start-TokenTraining $loraRun).AdapterFolder

    # Rewrites a safetensors file with its tensors renamed by -Rename: only the header changes, every data byte stays.
    function Copy-RenamedSafetensors([string] $Source, [string] $Target, [scriptblock] $Rename) {
        $bytes = [System.IO.File]::ReadAllBytes($Source)
        $length = [BitConverter]::ToUInt64($bytes, 0)
        $header = [System.Text.Encoding]::UTF8.GetString($bytes, 8, $length) | ConvertFrom-Json -AsHashtable
        $renamed = [ordered]@{}
        foreach ($key in $header.Keys) { $renamed[($key -eq '__metadata__' ? $key : (& $Rename $key))] = $header[$key] }
        $text = $renamed | ConvertTo-Json -Compress -Depth 5
        while (($text.Length % 8) -ne 0) { $text += ' ' }
        $stream = [System.IO.File]::Create($Target)
        try {
            $stream.Write([BitConverter]::GetBytes([uint64]$text.Length), 0, 8)
            $h = [System.Text.Encoding]::UTF8.GetBytes($text)
            $stream.Write($h, 0, $h.Length)
            $stream.Write($bytes, 8 + $length, $bytes.Length - 8 - $length)
        }
        finally { $stream.Dispose() }
    }

    # A job folder as Export-TokenTrainingJob and a finished PEFT run leave it: job.json whose adapter_config is the
    # adapter's, and -Output holding the adapter with PEFT's own peft_version (edited by -EditConfig), its tensors renamed.
    function New-TestJob {
        param([string] $Name, [string] $Adapter, [string] $Output = 'output', [scriptblock] $Rename = { $args[0] }, [scriptblock] $EditConfig, [switch] $NoWeights)
        $job = Join-Path $work "jobs/$Name"
        $folder = New-Item -ItemType Directory -Force -Path (Join-Path $job $Output)
        $config = Get-Content -Raw (Join-Path $Adapter 'adapter_config.json') | ConvertFrom-Json -AsHashtable
        [ordered]@{ format = 1; kind = 'trainabletokens-job'; method = $config.peft_type; base_model = $model; dtype = 'float32'; adapter_config = $config } |
            ConvertTo-Json -Depth 10 | Set-Content (Join-Path $job 'job.json')
        $written = $config.Clone()
        $written.peft_version = '0.21.0'
        if ($EditConfig) { & $EditConfig $written }
        $written | ConvertTo-Json -Depth 10 | Set-Content (Join-Path $folder 'adapter_config.json')
        if (-not $NoWeights) { Copy-RenamedSafetensors (Join-Path $Adapter 'adapter_model.safetensors') (Join-Path $folder 'adapter_model.safetensors') $Rename }
        $job
    }

    function Get-TensorBytes([string] $Folder) {
        $bytes = [System.IO.File]::ReadAllBytes((Join-Path $Folder 'adapter_model.safetensors'))
        $length = [BitConverter]::ToUInt64($bytes, 0)
        $header = [System.Text.Encoding]::UTF8.GetString($bytes, 8, $length) | ConvertFrom-Json -AsHashtable
        $header.Keys | Where-Object { $_ -ne '__metadata__' } | Sort-Object | ForEach-Object {
            $o = $header[$_].data_offsets
            "$_ " + [Convert]::ToBase64String($bytes, 8 + $length + $o[0], $o[1] - $o[0])
        }
    }

    $delta = 'base_model.model.model.embed_tokens.trainable_tokens_delta'
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Import-TokenTrainingJob' {
    It 'imports a run''s adapter byte for byte; the folder passes Test-TokenAdapter and merges' {
        $job = New-TestJob 'plain' $tokens
        '{"versions": {"torch": "2.11.0", "peft": "0.21.0"}, "global_step": 2, "train_loss": 3.5, "log_history": []}' | Set-Content (Join-Path $job 'output/job-result.json')
        $out = Join-Path $work 'plain-imported'
        $r = Import-TokenTrainingJob $job -OutputPath $out
        $r.Path | Should -Be $out
        $r.Adapter.TokenIndices | Should -Be @(10002, 10003)
        $r.Adapter.PeftType | Should -Be 'TRAINABLE_TOKENS'
        $r.ConfigDifferences | Should -BeNullOrEmpty
        $r.Repairs | Should -BeNullOrEmpty
        $r.GlobalStep | Should -Be 2
        $r.TrainLoss | Should -Be 3.5
        $r.Versions['peft'] | Should -Be '0.21.0'
        Get-TensorBytes $out | Should -Be (Get-TensorBytes $tokens)
        (Get-FileHash (Join-Path $out 'adapter_config.json')).Hash | Should -Be (Get-FileHash (Join-Path $job 'output/adapter_config.json')).Hash
        Test-TokenAdapter -Model $model -Adapter $out | ForEach-Object { $_.Outcome | Should -Be 'Passed' -Because $_.Detail }
        (Merge-TokenAdapter -Model $model -Adapter $out -OutputPath (Join-Path $work 'plain-merged')).Changes[0].TokenIndices | Should -Be @(10002, 10003)
    }

    It 'renames FSDP-wrapped tensor names, reports each repair and says so with -Verbose' {
        $job = New-TestJob 'fsdp' $tokens -Rename { $args[0] -replace '^base_model\.model\.model\.', 'base_model.model._fsdp_wrapped_module.model._checkpoint_wrapped_module.' }
        $out = Join-Path $work 'fsdp-imported'
        $r = Import-TokenTrainingJob $job -OutputPath $out -Verbose 4>&1 | Tee-Object -Variable all | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        @($r.Repairs).Count | Should -Be 1
        $r.Repairs[0].To | Should -Be $delta
        ($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n" | Should -Match '_fsdp_wrapped_module'
        Get-TensorBytes $out | Should -Be (Get-TensorBytes $tokens)
        Test-TokenAdapter -Model $model -Adapter $out | ForEach-Object { $_.Outcome | Should -Be 'Passed' -Because $_.Detail }
    }

    It 'imports a LoRA + tokens adapter saved with a leading module. and merges it' {
        $job = New-TestJob 'lora' $lora -Rename { "module.$($args[0])" }
        $out = Join-Path $work 'lora-imported'
        $r = Import-TokenTrainingJob $job -OutputPath $out
        $r.Adapter.PeftType | Should -Be 'LORA'
        $r.Adapter.TokenIndices | Should -Be @(10002, 10003)
        @($r.Repairs).Count | Should -Be @(Get-TensorBytes $lora).Count
        Get-TensorBytes $out | Should -Be (Get-TensorBytes $lora)
        Test-TokenAdapter -Model $model -Adapter $out | ForEach-Object { $_.Outcome | Should -Be 'Passed' -Because $_.Detail }
        (Merge-TokenAdapter -Model $model -Adapter $out -OutputPath (Join-Path $work 'lora-merged')).Tensors | Should -Not -BeNullOrEmpty
    }

    It 'imports a checkpoint-N folder given with -AdapterPath' {
        $job = New-TestJob 'ckpt' $tokens -Output 'output/checkpoint-2'
        $r = Import-TokenTrainingJob $job -AdapterPath (Join-Path $job 'output/checkpoint-2') -OutputPath (Join-Path $work 'ckpt-imported')
        $r.AdapterSource | Should -Be (Join-Path $job 'output/checkpoint-2')
        Test-TokenAdapter -Model $model -Adapter $r.Path | ForEach-Object { $_.Outcome | Should -Be 'Passed' -Because $_.Detail }
    }

    It 'refuses <Case> with <Id> and writes nothing' -ForEach @(
        @{ Case = 'a ZeRO-3 empty token delta'; Id = 'PartitionedAdapterTensor'; Category = 'InvalidData'; Match = 'stage3_gather_16bit_weights_on_model_save'; Make = {
                $job = New-TestJob 'zero3' $tokens -NoWeights
                Write-TestSafetensors (Join-Path $job 'output/adapter_model.safetensors') ([ordered]@{ $delta = @{ Shape = @(0); Values = [float[]]@() } })
                $job } }
        @{ Case = 'a changed token_indices'; Id = 'AdapterConfigDifference'; Category = 'InvalidData'; Match = 'token_indices'; Make = {
                New-TestJob 'changed' $tokens -EditConfig { $args[0].token_indices = @(10002, 10004) } } }
        @{ Case = 'a .bin-only adapter'; Id = 'JobAdapterNotSafetensors'; Category = 'InvalidData'; Match = 'safetensors'; Make = {
                $job = New-TestJob 'bin' $tokens -NoWeights
                [System.IO.File]::WriteAllBytes((Join-Path $job 'output/adapter_model.bin'), [byte[]](0x80, 2))
                $job } }
        @{ Case = 'a folder without job.json'; Id = 'InvalidJob'; Category = 'InvalidData'; Match = 'job.json'; Make = {
                (New-Item -ItemType Directory -Force (Join-Path $work 'jobs/nojob')).FullName } }
        @{ Case = 'a run that saved only checkpoints'; Id = 'JobAdapterNotFound'; Category = 'ObjectNotFound'; Match = 'checkpoint-2'; Make = {
                New-TestJob 'unfinished' $tokens -Output 'output/checkpoint-2' } }
    ) {
        $job = & $Make
        $out = Join-Path $work "refused-$Id"
        $err = $null
        $r = Import-TokenTrainingJob $job -OutputPath $out -ErrorVariable err -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike "$Id,*"
        $err[0].CategoryInfo.Category | Should -Be $Category
        $err[0].Exception.Message | Should -Match $Match
        $out | Should -Not -Exist
    }

    It 'imports a different config with -AllowConfigDifference, reporting each difference' {
        $job = New-TestJob 'allowed' $tokens -EditConfig { $args[0].token_indices = @(10002, 10004); $args[0].base_model_name_or_path = '/cluster/tiny' }
        $r = Import-TokenTrainingJob $job -OutputPath (Join-Path $work 'allowed-imported') -AllowConfigDifference -WarningVariable warned -WarningAction SilentlyContinue
        $r.ConfigDifferences.Key | Should -Be @('base_model_name_or_path', 'token_indices')
        ($r.ConfigDifferences | Where-Object Key -EQ 'token_indices').Actual | Should -Be '[10002,10004]'
        $warned.Count | Should -Be 1
    }

    It 'writes nothing with -WhatIf, after checking everything' {
        $job = New-TestJob 'whatif' $tokens
        Import-TokenTrainingJob $job -OutputPath (Join-Path $work 'whatif-imported') -WhatIf
        Join-Path $work 'whatif-imported' | Should -Not -Exist
        $bad = New-TestJob 'whatif-bad' $tokens -EditConfig { $args[0].init_weights = $false }
        $err = $null
        Import-TokenTrainingJob $bad -OutputPath (Join-Path $work 'whatif-bad-imported') -WhatIf -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AdapterConfigDifference,*'
    }

    It 'refuses an output inside the job, and -Force replaces only a folder it wrote' {
        $job = New-TestJob 'guard' $tokens
        $err = $null
        Import-TokenTrainingJob $job -OutputPath (Join-Path $job 'imported') -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'OutputConflict,*'
        Join-Path $job 'imported' | Should -Not -Exist

        $out = Join-Path $work 'guard-imported'
        Import-TokenTrainingJob $job -OutputPath $out | Out-Null
        Import-TokenTrainingJob $job -OutputPath $out -Force | Out-Null
        $mine = New-Item -ItemType Directory (Join-Path $work 'guard-mine')
        'keep' | Set-Content (Join-Path $mine 'notes.txt')
        Import-TokenTrainingJob $job -OutputPath $mine.FullName -Force -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'OutputConflict,*'
        Get-Content (Join-Path $mine 'notes.txt') | Should -Be 'keep'
    }
}
