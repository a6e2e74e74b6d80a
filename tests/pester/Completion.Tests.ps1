BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $script:Examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
    function Complete([string] $Line) {
        (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches.CompletionText
    }
}
AfterAll { Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue }

Describe 'Tab completion' {
    BeforeAll { Push-Location (Split-Path $Examples) }
    AfterAll { Pop-Location }

    It '-Device offers cpu and one cuda:N per GPU the driver lists' {
        $gpus = @((Get-TrainableTokensEnvironment).CudaDevices)
        $expected = @('cpu') + $(if ($gpus.Count) { @('cuda') + @($gpus | ForEach-Object { "cuda:$($_.Index)" }) } else { @() })
        Complete 'Start-TokenTraining -Device ' | Should -Be $expected
        Complete 'Invoke-TokenModel -Device c' | Should -Be ($expected | Where-Object { $_ -like 'c*' })
    }

    It '-Dtype and -LrSchedulerType offer the values the run-file schema allows' {
        Complete 'New-TrainableTokensConfig -Dtype ' | Should -Be @('float32', 'bfloat16', 'float16')
        Complete 'New-TrainableTokensConfig -LrSchedulerType ' | Should -Be @('linear', 'cosine', 'constant', 'constant_with_warmup')
        Complete 'New-TrainableTokensConfig -LrSchedulerType co' | Should -Be @('cosine', 'constant', 'constant_with_warmup')
        Complete 'Start-TokenTraining -Dtype b' | Should -Be @('bfloat16')
    }

    It '-Model offers model folders and the folders that lead to them' {
        Complete 'Invoke-TokenModel -Model ./exa' | Should -Be @('./examples/')
        Complete 'Invoke-TokenModel -Model ./examples/' | Should -Be @('./examples/models/')
        Complete 'ConvertTo-TokenId -Model ./examples/models/' | Should -Be @('./examples/models/tiny-llama', './examples/models/tiny-llama3')
        Complete 'Merge-TokenAdapter -Model ./examples/models/tiny-llama3' | Should -Be @('./examples/models/tiny-llama3')
    }

    It '-Adapter offers adapter folders, not model folders' {
        $work = Join-Path ([IO.Path]::GetTempPath()) "tt-complete-$PID"
        try {
            New-TestAdapter -Path (Join-Path $work 'adapters/think') -TokenIndex 5 | Out-Null
            New-Item -ItemType Directory (Join-Path $work 'empty') | Out-Null
            Push-Location $work
            try {
                Complete 'Get-TokenAdapter ' | Should -Be @('./adapters/')
                Complete 'Merge-TokenAdapter -Adapter ./adapters/' | Should -Be @('./adapters/think')
                Complete 'Invoke-TokenModel -Adapter ./adapters/t' | Should -Be @('./adapters/think')
            }
            finally { Pop-Location }
        }
        finally { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }
    }

    It '-TargetModule offers the module names of the model given with -Model' {
        Complete 'New-TrainableTokensConfig -Model ./examples/models/tiny-llama3 -TargetModule ' | Should -Be @('embed_tokens', 'model.embed_tokens', 'lm_head')
        Complete 'New-TrainableTokensConfig -TargetModule ' | Should -BeNullOrEmpty
    }

    It '-TargetModule offers the projections (and all-linear) with -Method Lora' {
        Complete 'New-TrainableTokensConfig -Method Lora -Model ./examples/models/tiny-llama3 -TargetModule ' |
            Should -Be @('all-linear', 'q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj')
        Complete 'New-TrainableTokensConfig -Method Lora -Model ./examples/models/tiny-llama3 -TargetModule v' | Should -Be @('v_proj')
    }
}
