# Export-TokenTrainingJob through the module: the job folder's files, the result object, warnings as PowerShell
# warnings, and the data-safety rules every writing cmdlet follows (-WhatIf, -Force, inputs never overwritten).
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-exportjob-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    $examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
    $run = New-QuickstartRunFile -Path (Join-Path $work 'run.yaml') -OutputDir (Join-Path $work 'adapter')
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Export-TokenTrainingJob' {
    It 'writes a complete job folder and returns what it wrote' {
        $job = Export-TokenTrainingJob -Path $run -OutputPath (Join-Path $work 'job') -WarningVariable warned 3>$null
        $job.Method | Should -Be 'TRAINABLE_TOKENS'
        $job.Engine | Should -Be 'Fsdp'
        $job.LaunchCommand | Should -Be 'accelerate launch --config_file accelerate/fsdp.yaml train.py'
        $job.TrainExamples | Should -BeGreaterThan 0
        $job.EvalExamples | Should -BeGreaterThan 0
        foreach ($file in 'job.json', 'run.yaml', 'train.py', 'requirements.txt', 'README.md', 'accelerate/fsdp.yaml', 'kubernetes/job.yaml',
            'data/train.jsonl', 'data/eval.jsonl', 'data/train-order.json') {
            $job.Files | Should -Contain $file
            Join-Path $job.Path $file | Should -Exist
        }
        # The run file travels byte for byte; job.json holds the settings resolved.
        (Get-FileHash (Join-Path $job.Path 'run.yaml')).Hash | Should -Be (Get-FileHash $run).Hash
        $settings = Get-Content (Join-Path $job.Path 'job.json') -Raw | ConvertFrom-Json
        $settings.kind | Should -Be 'trainabletokens-job'
        $settings.peft_config.token_indices | Should -Be @(10002, 10003)
        $settings.adapter_config.target_modules | Should -Be 'model.embed_tokens'
        $settings.training_arguments.max_steps | Should -Be $job.MaxSteps
        $settings.training_arguments.optim | Should -Be 'adamw_torch'
        @(Get-Content (Join-Path $job.Path 'data/train.jsonl')).Count | Should -Be $job.TrainExamples
        Get-Content (Join-Path $job.Path 'requirements.txt') | Should -Contain 'peft==0.21.0'
        Get-Content (Join-Path $job.Path 'accelerate/fsdp.yaml') | Should -Contain '  fsdp_use_orig_params: true'
        Get-Content (Join-Path $job.Path 'README.md') -Raw | Should -Match 'When a job has run|Bring the adapter back'
        # The quickstart's evaluation differs in Python in one named way, said as a warning.
        ($warned | Where-Object { "$_" -match 'training.eval_strategy' }) | Should -Not -BeNullOrEmpty
    }

    It 'warns about each LoRA setting Python draws differently and exports the DeepSpeed config for several nodes' {
        $lora = Join-Path $work 'lora.yaml'
        (Get-Content -Raw (Join-Path $examples 'lora.run.yaml')).
            Replace('./models/tiny-llama3', (Join-Path $examples 'models/tiny-llama3')).
            Replace('./data/quickstart.jsonl', (Join-Path $examples 'data/quickstart.jsonl')).
            Replace('../out/lora-adapter', (Join-Path $work 'lora-adapter')) | Set-Content $lora
        $job = Export-TokenTrainingJob $lora -OutputPath (Join-Path $work 'lora-job') -Engine DeepSpeed -Nodes 2 -Processes 2 -WarningVariable warned 3>$null
        $job.Method | Should -Be 'LORA'
        $job.Files | Should -Contain 'accelerate/deepspeed.yaml'
        $job.Files | Should -Contain 'accelerate/zero3.json'
        $job.Files | Should -Not -Contain 'accelerate/fsdp.yaml'
        @($job.Warnings.Setting) | Should -Contain 'lora.lora_dropout'
        @($job.Warnings.Setting) | Should -Contain 'lora.init_lora_weights'
        ($warned | Where-Object { "$_" -match 'lora.lora_dropout' }) | Should -Not -BeNullOrEmpty
        Get-Content (Join-Path $job.Path 'requirements.txt') | Should -Contain 'deepspeed==0.19.8'
        (Get-Content (Join-Path $job.Path 'accelerate/deepspeed.yaml') -Raw) | Should -Match 'num_processes: 4'
        (Get-Content (Join-Path $job.Path 'kubernetes/job.yaml') -Raw) | Should -Match 'completions: 2'
        (Get-Content (Join-Path $job.Path 'README.md') -Raw) | Should -Match '#2946'
    }

    It '-WhatIf checks everything and writes nothing' {
        $target = Join-Path $work 'whatif-job'
        Export-TokenTrainingJob -Path $run -OutputPath $target -WhatIf 3>$null | Should -BeNullOrEmpty
        $target | Should -Not -Exist
    }

    It 'reports every error of a bad run file and writes nothing' {
        $bad = New-QuickstartRunFile -Path (Join-Path $work 'bad.yaml') -OutputDir (Join-Path $work 'x') -Replace @{ '[10002, 10003]' = '[10002, 999999]' }
        $target = Join-Path $work 'bad-job'
        Export-TokenTrainingJob -Path $bad -OutputPath $target -ErrorVariable failed -ErrorAction SilentlyContinue 3>$null
        $failed.FullyQualifiedErrorId | Should -Contain 'RunFileInvalid,TrainableTokens.Cmdlets.ExportTokenTrainingJob'
        "$($failed[0])" | Should -Match 'token_indices'
        $target | Should -Not -Exist
    }

    It 'never writes into or over an input' {
        Export-TokenTrainingJob -Path $run -OutputPath (Join-Path $examples 'models/tiny-llama3/job') -ErrorVariable failed -ErrorAction SilentlyContinue 3>$null
        $failed[0].FullyQualifiedErrorId | Should -Match '^OutputConflict'
        Join-Path $examples 'models/tiny-llama3/job' | Should -Not -Exist
    }

    It 'replaces its own job folder with -Force, but never one holding a job''s output' {
        $target = Join-Path $work 'force-job'
        $null = Export-TokenTrainingJob -Path $run -OutputPath $target 3>$null
        Export-TokenTrainingJob -Path $run -OutputPath $target -ErrorVariable failed -ErrorAction SilentlyContinue 3>$null
        $failed[0].FullyQualifiedErrorId | Should -Match '^OutputExists'
        $null = Export-TokenTrainingJob -Path $run -OutputPath $target -Force 3>$null
        # A job that ran keeps its adapter in output/: -Force refuses, and the adapter stays.
        New-Item -ItemType Directory (Join-Path $target 'output') | Out-Null
        Set-Content (Join-Path $target 'output/adapter_config.json') '{}'
        Export-TokenTrainingJob -Path $run -OutputPath $target -Force -ErrorVariable failed -ErrorAction SilentlyContinue 3>$null
        $failed[0].FullyQualifiedErrorId | Should -Match '^JobFolderInUse'
        Join-Path $target 'output/adapter_config.json' | Should -Exist
    }
}
