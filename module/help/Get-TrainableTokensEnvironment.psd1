@{
    Synopsis    = 'Reports what this machine offers TrainableTokens: versions, backend, threads, GPUs, native shim, and a real libtorch computation.'
    Description = @(
        'Get-TrainableTokensEnvironment loads libtorch (if it is not loaded yet) and returns one object describing the environment the module runs in: the module, TorchSharp and libtorch versions, the libtorch flavour the module was built with (cpu, cuda or wincpu), the backend in use (CPU or CUDA), the number of CPU threads libtorch uses, each CUDA device with its total and free memory, whether the build applied the GLIBCXX_3.4.32 native shim to TorchSharp''s native library, and the result of a compute check.'
        'The compute check multiplies two 64x64 matrices of small integers in libtorch and compares the result exactly with the same product computed in .NET, so ComputeCheckPassed proves that libtorch not only loads but computes correctly on this machine.'
        'Run it first on a new worker (for example an Azure Automation hybrid worker) and in a runbook''s first step. When libtorch cannot be loaded, the cmdlet stops with a NativeRuntimeUnavailable error that names the library and says how to fix it.'
        'To use the libtorch of an installed PyTorch (typically a CUDA build on a GPU machine), set the environment variable TRAINABLETOKENS_LIBTORCH to its torch/lib folder (or the torch package folder) before the first command of the session. Before anything uses it, the module checks that every symbol TorchSharp''s native wrapper needs resolves against it (as ldd -r would); a PyTorch of another release or C++ ABI is refused with an error naming both versions and what to install. LibTorchSource says which libtorch is in use (bundled or TRAINABLETOKENS_LIBTORCH), LibTorchDirectory where it is, LibTorchVersion its version (from torch/version.py), and CudaAvailable whether its CUDA backend initialised.'
    )
    Parameters  = @{}
    Inputs      = @(
        @{ Type = 'None'; Description = 'This cmdlet takes no pipeline input.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.EnvironmentReport'; Description = 'One object with ModuleVersion, TorchSharpVersion, LibTorchVersion, LibTorchSource, LibTorchDirectory, CudaAvailable, BuildFlavour, Backend, CpuThreads, InteropThreads, CudaDevices (Index, Name, TotalMemoryBytes, FreeMemoryBytes), NativeShimApplied, NativeDirectory, Libstdcxx, YamlDotNetVersion, DotNetVersion, OperatingSystem, ComputeCheckPassed and ComputeCheckMilliseconds.' }
    )
    Examples    = @(
        @{
            Title   = 'Check a new machine'
            Code    = 'Get-TrainableTokensEnvironment'
            Remarks = 'Shows the versions, the backend, CPU threads, GPUs, whether the native shim was applied and whether the compute check passed.'
        }
        @{
            Title   = 'Stop a runbook early when the worker cannot compute'
            Code    = @'
$environment = Get-TrainableTokensEnvironment
if (-not $environment.ComputeCheckPassed) { throw "libtorch gives wrong results on $([Environment]::MachineName)" }
if ($environment.CudaDevices.Count -eq 0) { Write-Warning 'No GPU: training will run on the CPU.' }
'@
            Remarks = 'Uses the properties of the returned object rather than its formatted text.'
        }
        @{
            Title   = 'List the GPUs and their free memory'
            Code    = 'Get-TrainableTokensEnvironment | Select-Object -ExpandProperty CudaDevices | Format-Table Index, Name, @{ n = ''FreeGiB''; e = { $_.FreeMemoryBytes / 1GB } }'
            Remarks = 'CudaDevices is empty on machines without an NVIDIA driver.'
        }
    )
    Notes       = 'The first call in a session takes about a second because it loads libtorch (about 450 MB of native code). libtorch cannot be unloaded: Remove-Module leaves it in the process.'
    Links       = @('about_TrainableTokens')
}
