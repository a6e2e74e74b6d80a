BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-libtorch-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    $dependencies = Join-Path $ModuleDirectory 'Dependencies'
    $examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
    $model = Join-Path $examples 'models/tiny-llama3'
    $data = Join-Path $examples 'data/quickstart.jsonl'

    # A PyTorch install's layout: <site-packages>/torch/lib with the libraries, torch/version.py beside lib.
    # -Copy names the libraries copied rather than linked: a copy is another file, so loading the bundled one as well
    # would put two libtorch_cpu in one process, which crashes; a link would hide that.
    function New-TorchFolder([string] $Name, [string] $Version, [hashtable] $Links = @{}, [string[]] $Copy = @()) {
        $lib = Join-Path $work "$Name/site-packages/torch/lib"
        New-Item -ItemType Directory -Force -Path $lib | Out-Null
        "__version__ = '$Version'`ngit_version = 'test'" | Set-Content (Join-Path $lib '../version.py')
        foreach ($file in $Links.Keys) { New-Item -ItemType SymbolicLink -Path (Join-Path $lib $file) -Target (Join-Path $dependencies $Links[$file]) | Out-Null }
        foreach ($file in $Copy) { Copy-Item (Join-Path $dependencies $file) (Join-Path $lib $file) }
        $lib
    }

    # Runs a command in a new pwsh with TRAINABLETOKENS_LIBTORCH set: a loaded libtorch cannot be swapped in a process.
    function Invoke-WithLibTorch([string] $Folder, [string] $Command) {
        $env:TRAINABLETOKENS_LIBTORCH = $Folder
        try { Invoke-FreshPwsh "`$ErrorActionPreference = 'Stop'; Import-Module '$ModuleManifest'; $Command" }
        finally { Remove-Item Env:TRAINABLETOKENS_LIBTORCH -ErrorAction SilentlyContinue }
    }

    # Wraps a command so the child prints its error's id, category and message on one line.
    function Format-Report([string] $Command) { 'try { $x = ' + $Command + '; "OK" } catch { "ERR|$($_.FullyQualifiedErrorId)|$($_.CategoryInfo.Category)|$($_.Exception.Message)" }' }
}
AfterAll {
    Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'TRAINABLETOKENS_LIBTORCH (a libtorch brought from an installed PyTorch)' {
    It 'uses the named torch/lib for a real forward pass, reports it, and never loads the bundled libtorch beside it' {
        $others = @{}
        Get-ChildItem $dependencies -Filter '*.so*' | Where-Object { $_.Name -match '^lib(c10|torch|torch_global_deps|shm|gomp.*)\.so' -and $_.Name -ne 'libtorch_cpu.so' } |
            ForEach-Object { $others[$_.Name] = $_.Name }
        $lib = New-TorchFolder 'good' '2.10.0+cpu' -Links $others -Copy 'libtorch_cpu.so'
        $bundledOut = Join-Path $work 'bundled.safetensors'
        Invoke-TokenModel -Model $model -InputId 1, 2, 3, 4 -OutFile $bundledOut | Out-Null
        $userOut = Join-Path $work 'user.safetensors'
        $run = Invoke-WithLibTorch $lib (@'
$e = Get-TrainableTokensEnvironment
"SOURCE=$($e.LibTorchSource)"; "DIR=$($e.LibTorchDirectory)"; "VERSION=$($e.LibTorchVersion)"; "CHECK=$($e.ComputeCheckPassed)"; "CUDA=$($e.CudaAvailable)"
$r = Invoke-TokenModel -Model 'MODEL' -InputId 1, 2, 3, 4 -OutFile 'OUT'
"VOCAB=$($r.VocabSize)"
Get-Content "/proc/$PID/maps" | Where-Object { $_ -match 'libtorch_cpu\.so' } | ForEach-Object { 'MAP=' + ($_ -split '\s+')[-1] } | Sort-Object -Unique
'@).Replace('MODEL', $model).Replace('OUT', $userOut)
        $run.Output | Should -Contain 'SOURCE=TRAINABLETOKENS_LIBTORCH'
        $run.Output | Should -Contain "DIR=$lib"
        $run.Output | Should -Contain 'VERSION=2.10.0+cpu'
        $run.Output | Should -Contain 'CHECK=True'
        $run.Output | Should -Contain 'CUDA=False'
        $run.Output | Should -Contain 'VOCAB=10256'
        @($run.Output | Where-Object { $_ -like 'MAP=*' }) | Should -Be @("MAP=$(Join-Path $lib 'libtorch_cpu.so')")
        $run.ExitCode | Should -Be 0
        # The same libtorch release computes the same logits and hidden states, byte for byte.
        (Get-FileHash $userOut).Hash | Should -Be (Get-FileHash $bundledOut).Hash
    }

    It 'refuses a libtorch whose libraries lack the symbols TorchSharp''s wrapper needs, naming both versions and what to install' {
        # Libraries that load but are not this libtorch: every name points at libc10, which lacks torch's operators.
        $lib = New-TorchFolder 'mismatch' '2.3.1+cu121' -Links @{ 'libc10.so' = 'libc10.so'; 'libtorch_cpu.so' = 'libc10.so'; 'libtorch.so' = 'libc10.so' }
        $run = Invoke-WithLibTorch $lib (Format-Report 'Get-TrainableTokensEnvironment')
        $line = $run.Output | Where-Object { $_ -like 'ERR|*' } | Select-Object -First 1
        $line | Should -Not -BeNullOrEmpty -Because ($run.Output -join "`n")
        $id, $category, $message = $line.Substring(4) -split '\|', 3
        $id | Should -BeLike 'NativeRuntimeUnavailable*'
        $category | Should -Be 'NotInstalled'
        $message | Should -BeLike "*TRAINABLETOKENS_LIBTORCH*$lib*version 2.3.1+cu121*built for libtorch 2.10.0*symbol(s)*pip install torch==2.10.0*"
    }

    It 'names the variable when its folder does not exist or holds no libtorch' {
        $run = Invoke-WithLibTorch (Join-Path $work 'no/such/torch/lib') (Format-Report ("Invoke-TokenModel -Model '$model' -InputId 1 -OutFile '" + (Join-Path $work 'x.safetensors') + "'"))
        $line = $run.Output | Where-Object { $_ -like 'ERR|*' } | Select-Object -First 1
        $line | Should -BeLike "ERR|NativeRuntimeUnavailable*|NotInstalled|TRAINABLETOKENS_LIBTORCH is '*no/such/torch/lib', which is not a folder*"
        $empty = New-Item -ItemType Directory -Force -Path (Join-Path $work 'empty/torch/lib')
        $run = Invoke-WithLibTorch $empty.FullName (Format-Report 'Get-TrainableTokensEnvironment')
        ($run.Output | Where-Object { $_ -like 'ERR|*' }) | Should -BeLike '*TRAINABLETOKENS_LIBTORCH*has no libc10.so, libtorch_cpu.so, libtorch.so*'
    }
}

Describe '-Device cuda on the CPU build' {
    BeforeAll {
        $adapter = Join-Path $work 'adapter'
        New-TestAdapter -Path $adapter -TokenIndex 10002, 10003 -Hidden 32
        function Get-DeviceError([scriptblock] $Command) {
            try { & $Command; $null } catch { $_ }
        }
    }

    It '<Name> refuses it with UnusableDevice before loading anything' -ForEach @(
        @{ Name = 'Invoke-TokenModel'; Command = { Invoke-TokenModel -Model $model -InputId 1, 2 -OutFile (Join-Path $work 'cuda.safetensors') -Device cuda -ErrorAction Stop } }
        @{ Name = 'Measure-TokenModel'; Command = { Measure-TokenModel -Model $model -Dataset $data -MaxSeqLength 64 -Device cuda -ErrorAction Stop } }
        @{ Name = 'Invoke-TokenGeneration'; Command = { Invoke-TokenGeneration -Model $model -Prompt 'The tiny model' -MaxNewTokens 2 -Device cuda:1 -ErrorAction Stop } }
        @{ Name = 'Test-TokenAdapter'; Command = { Test-TokenAdapter -Model $model -Adapter $adapter -Dataset $data -MaxSeqLength 64 -Device cuda -ErrorAction Stop } }
    ) {
        $err = Get-DeviceError $Command
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'UnusableDevice*'
        $err.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        $err.Exception.Message | Should -BeLike '*cpu build of the module, which has no CUDA*TRAINABLETOKENS_LIBTORCH*'
    }
}
