BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:Repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:Runbook = Join-Path $Repo 'examples/runbooks/Train-TokenAdapter.ps1'
    # A fresh copy of examples/ per test, as a user's checkout would have it.
    function New-ExamplesCopy {
        $work = Join-Path ([IO.Path]::GetTempPath()) "tt-runbook-$([guid]::NewGuid().ToString('N'))"
        New-Item -ItemType Directory $work | Out-Null
        Copy-Item -Recurse (Join-Path $Repo 'examples') (Join-Path $work 'examples')
        $work
    }
    function Invoke-Runbook([string] $Work, [string] $Arguments) {
        Invoke-FreshPwsh "Set-Location '$Work'; & ./examples/runbooks/Train-TokenAdapter.ps1 $Arguments -ModulePath '$ModuleManifest' | ConvertTo-Json -Compress; exit `$LASTEXITCODE"
    }
}

Describe 'The Azure Automation runbook examples/runbooks/Train-TokenAdapter.ps1' {
    BeforeEach { $script:Work = New-ExamplesCopy }
    AfterEach { Remove-Item -Recurse -Force $Work -ErrorAction SilentlyContinue }

    It 'trains and merges the quickstart tokens, returns the result object, writes result.json and exits 0' {
        $run = Invoke-Runbook $Work '-Model ./examples/models/tiny-llama3 -Dataset ./examples/data/quickstart.jsonl -TokenIndex 10002, 10003 -OutputRoot ./out/runs -RunName r1 -MaxSteps 40 -MaxSeqLength 64'
        $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
        $result = $run.Output[-1] | ConvertFrom-Json
        $result.Status | Should -Be 'Trained'
        $result.TokenIds | Should -Be @(10002, 10003)
        $result.EvalLoss | Should -BeLessThan $result.EvalLossBefore
        $result.AdapterFolder | Should -Be (Join-Path $Work 'out/runs/r1/adapter')
        Join-Path $Work 'out/runs/r1/adapter/adapter_model.safetensors' | Should -Exist
        Join-Path $Work 'out/runs/r1/merged/model.safetensors' | Should -Exist
        (Get-Content -Raw (Join-Path $Work 'out/runs/r1/result.json') | ConvertFrom-Json).Status | Should -Be 'Trained'
    }

    It 'adds -Token first and trains the new ids in the new model folder' {
        $run = Invoke-Runbook $Work "-Model ./examples/models/tiny-llama3 -Dataset ./examples/data/quickstart.jsonl -Token '<think>' -OutputRoot ./out/runs -RunName r2 -MaxSteps 4 -MaxSeqLength 64 -NoMerge"
        # <think> is not in the quickstart data, so its row cannot learn: exit 4, and the result still says where things are.
        $run.ExitCode | Should -Be 4 -Because ($run.Output -join "`n")
        $result = Get-Content -Raw (Join-Path $Work 'out/runs/r2/result.json') | ConvertFrom-Json
        $result.TokenIds | Should -Be @(10256)
        $result.ModelFolder | Should -Be (Join-Path $Work 'out/runs/r2/model')
        $result.MergedFolder | Should -BeNullOrEmpty
        ($run.Output -join "`n") | Should -Match 'did not help'
    }

    It 'exits 2 for a dataset that does not exist, naming it, and trains nothing' {
        $run = Invoke-Runbook $Work '-Model ./examples/models/tiny-llama3 -Dataset ./missing.jsonl -TokenIndex 10002 -OutputRoot ./out/runs -RunName r3'
        $run.ExitCode | Should -Be 2
        ($run.Output -join "`n") | Should -Match 'missing\.jsonl'
        Join-Path $Work 'out/runs/r3/adapter' | Should -Not -Exist
    }

    It 'exits 2 for a token id past the vocabulary, with the preflight''s message' {
        $run = Invoke-Runbook $Work '-Model ./examples/models/tiny-llama3 -Dataset ./examples/data/quickstart.jsonl -TokenIndex 99999 -OutputRoot ./out/runs -RunName r4'
        $run.ExitCode | Should -Be 2
        ($run.Output -join "`n") | Should -Match '99999'
    }
}

Describe 'The CI pipelines in examples/ci' {
    BeforeAll {
        # YamlDotNet from the module's own dependencies, in a process of its own (the test session keeps its isolation).
        $yaml = Join-Path $ModuleDirectory 'Dependencies/YamlDotNet.dll'
        $script:Pipelines = @{}
        foreach ($name in 'github-actions.yml', 'azure-pipelines.yml') {
            $file = Join-Path $Repo "examples/ci/$name"
            $parsed = Invoke-FreshPwsh "Add-Type -Path '$yaml'; [YamlDotNet.Serialization.DeserializerBuilder]::new().Build().Deserialize([string](Get-Content -Raw '$file')) | ConvertTo-Json -Depth 30 -Compress"
            $parsed.ExitCode | Should -Be 0 -Because ($parsed.Output -join "`n")
            $Pipelines[$name] = $parsed.Output -join '' | ConvertFrom-Json
        }
        $script:Steps = @{
            'github-actions.yml'  = @($Pipelines['github-actions.yml'].jobs.'train-and-accept'.steps | ForEach-Object { $_.run } | Where-Object { $_ })
            'azure-pipelines.yml' = @($Pipelines['azure-pipelines.yml'].stages[0].jobs[0].steps | ForEach-Object { $_.script } | Where-Object { $_ })
        }
        # The PowerShell inside each "dotnet pwsh -Command" step.
        function Get-PwshCommands([string[]] $Scripts) {
            foreach ($s in $Scripts) { if ($s -match '(?s)-Command\s+"(.*)"\s*$') { $Matches[1] } }
        }
    }

    It '<_> parses as YAML, builds the module, trains with the runbook and runs examples/acceptance' -ForEach 'github-actions.yml', 'azure-pipelines.yml' {
        $text = $Steps[$_] -join "`n"
        $text | Should -Match 'build\.ps1 -Task Build'
        $text | Should -Match 'Train-TokenAdapter\.ps1'
        $text | Should -Match 'Invoke-Pester'
        $text | Should -Match 'examples/acceptance'
        foreach ($path in 'examples/models/tiny-llama3', 'examples/data/quickstart.jsonl', 'examples/runbooks/Train-TokenAdapter.ps1', 'build.ps1', 'global.json', 'dotnet-tools.json') {
            Join-Path $Repo $path | Should -Exist
        }
    }

    It '<_>: the PowerShell in every step parses' -ForEach 'github-actions.yml', 'azure-pipelines.yml' {
        $commands = @(Get-PwshCommands $Steps[$_])
        $commands.Count | Should -BeGreaterOrEqual 2
        foreach ($command in $commands) {
            $errors = $null
            [System.Management.Automation.Language.Parser]::ParseInput($command, [ref]$null, [ref]$errors) | Out-Null
            $errors | Should -BeNullOrEmpty -Because $command
        }
    }

    It 'the GitHub train step runs as written against the installed module' {
        $work = New-ExamplesCopy
        try {
            $train = @(Get-PwshCommands $Steps['github-actions.yml']) | Where-Object { $_ -match 'Train-TokenAdapter' } | Select-Object -First 1
            $modules = Split-Path $ModuleDirectory
            $run = Invoke-FreshPwsh "`$env:PSModulePath = '$modules' + [IO.Path]::PathSeparator + `$env:PSModulePath; `$env:TRAINABLETOKENS_OUTPUT = '$work/out/runs'; Set-Location '$work'; $train"
            $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
            Join-Path $work 'out/runs/ci/adapter/adapter_model.safetensors' | Should -Exist
        }
        finally { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }
    }
}
