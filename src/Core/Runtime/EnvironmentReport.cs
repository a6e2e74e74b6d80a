using System.Collections.Generic;

namespace TrainableTokens.Core.Runtime;

/// <summary>One CUDA device as the NVIDIA driver reports it.</summary>
public sealed record CudaDevice(int Index, string Name, long TotalMemoryBytes, long FreeMemoryBytes)
{
    public override string ToString() => $"cuda:{Index} {Name}, {TotalMemoryBytes / (double)(1L << 30):0.0} GiB ({FreeMemoryBytes / (double)(1L << 30):0.0} GiB free)";
}

/// <summary>What a runbook author checks on a new worker: versions, which libtorch and where it came from (bundled, or
/// TRAINABLETOKENS_LIBTORCH), backend, threads, GPUs, native shim, a real computation.</summary>
public sealed record EnvironmentReport(
    string ModuleVersion,
    string TorchSharpVersion,
    string LibTorchVersion,
    string LibTorchSource,
    string LibTorchDirectory,
    bool CudaAvailable,
    string BuildFlavour,
    string Backend,
    int CpuThreads,
    int InteropThreads,
    IReadOnlyList<CudaDevice> CudaDevices,
    bool NativeShimApplied,
    string NativeDirectory,
    string? Libstdcxx,
    string YamlDotNetVersion,
    string DotNetVersion,
    string OperatingSystem,
    bool ComputeCheckPassed,
    double ComputeCheckMilliseconds);
