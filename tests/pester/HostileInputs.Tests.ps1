# User files as a careless or hostile user gives them, through the cmdlets: an error that names the file, and the
# PowerShell process lives. Each case runs in a fresh pwsh, so a crash (a stack overflow is exit 134) fails the test
# instead of taking the whole suite down.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-test-hostile-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    $tinyLlama = (Resolve-Path (Join-Path $PSScriptRoot '../../examples/models/tiny-llama')).Path
    $tinyLlama3 = (Resolve-Path (Join-Path $PSScriptRoot '../../examples/models/tiny-llama3')).Path

    # Runs $Command after importing the module in a new pwsh; the last line it prints is "alive" when the process lived.
    function Invoke-Hostile([string] $Command) {
        $run = Invoke-FreshPwsh -Command "Import-Module '$ModuleManifest'; `$ErrorActionPreference = 'Continue'; $Command; 'alive'"
        $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
        $run.Output[-1] | Should -Be 'alive'
        $run.Output -join "`n"
    }
    function New-Fifo([string] $Path) { & mkfifo $Path; $Path }
}
AfterAll {
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Hostile user files' {
    It 'reports a run file with token_indices nested 50,000 deep, and the session lives' {
        $run = Join-Path $work 'deep.yaml'
        [System.IO.File]::WriteAllText($run, "trainable_tokens:`n  token_indices: " + ('[' * 50000) + (']' * 50000) + "`n")

        $output = Invoke-Hostile "Test-TrainableTokensConfig -Path '$run' | ForEach-Object { `$_.ToString() }"

        $output | Should -BeLike "*deep.yaml:2:*nested more than 64 levels*"
    }

    It 'refuses a run file that is a FIFO without waiting for a writer' {
        $fifo = New-Fifo (Join-Path $work 'fifo.yaml')

        $output = Invoke-Hostile "Test-TrainableTokensConfig -Path '$fifo' 2>&1 | ForEach-Object { `"`$_`" }"

        $output | Should -BeLike '*fifo.yaml*FIFO*'
    }

    It 'refuses an adapter whose adapter_config.json is /dev/zero' {
        $adapter = Join-Path $work 'zero-adapter'
        New-Item -ItemType Directory $adapter | Out-Null
        New-Item -ItemType SymbolicLink -Path (Join-Path $adapter 'adapter_config.json') -Target '/dev/zero' | Out-Null

        $output = Invoke-Hostile "Get-TokenAdapter -Path '$adapter' 2>&1 | ForEach-Object { `"`$_`" }"

        $output | Should -BeLike '*adapter_config.json*character device*'
    }

    It 'refuses a model whose config.json asks for 100,000,000 layers, naming the field' {
        $model = Join-Path $work 'layers'
        Copy-Item -Recurse $tinyLlama $model
        $config = Get-Content -Raw (Join-Path $model 'config.json') | ConvertFrom-Json -AsHashtable
        $config['num_hidden_layers'] = 100000000
        $config | ConvertTo-Json | Set-Content (Join-Path $model 'config.json')

        $output = Invoke-Hostile "Invoke-TokenModel -Model '$model' -InputId 1, 2 -OutFile '$work/out.safetensors' 2>&1 | ForEach-Object { `"`$_`" }"

        $output | Should -BeLike '*config.json*num_hidden_layers is 100000000*'
    }

    It 'refuses a dataset that is a FIFO without waiting for a writer' {
        $fifo = New-Fifo (Join-Path $work 'data.jsonl')

        $output = Invoke-Hostile "Measure-TokenDataset -Model '$tinyLlama3' -Path '$fifo' 2>&1 | ForEach-Object { `"`$_`" }"

        $output | Should -BeLike '*data.jsonl*FIFO*'
    }
}
