using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;
using TrainableTokens.Core.Native;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Runtime;

/// <summary>Collects an <see cref="EnvironmentReport"/>, loading libtorch if it is not loaded yet.</summary>
public static class EnvironmentProbe
{
    public static EnvironmentReport Collect()
    {
        TorchRuntime.EnsureLoaded();
        var core = typeof(EnvironmentProbe).Assembly;
        string flavour = core.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "TorchFlavour")?.Value ?? "cpu";
        bool cuda = TorchRuntime.CudaAvailable;
        var location = TorchRuntime.Location!;
        var (passed, ms) = RunComputeCheck();
        var nativeLib = Path.Combine(TorchRuntime.NativeDirectory, TorchRuntime.NativeLibraryFileName);
        return new EnvironmentReport(
            ModuleVersion: InformationalVersion(core),
            TorchSharpVersion: InformationalVersion(typeof(torch).Assembly),
            LibTorchVersion: location.IsUserProvided ? location.Version ?? "unknown" : ThreePartVersion(torch.__version__),
            LibTorchSource: location.Source,
            LibTorchDirectory: location.Directory,
            CudaAvailable: cuda,
            BuildFlavour: flavour,
            Backend: cuda ? "CUDA" : "CPU",
            CpuThreads: torch.get_num_threads(),
            InteropThreads: torch.get_num_interop_threads(),
            CudaDevices: Nvml.ListDevices(),
            NativeShimApplied: OperatingSystem.IsLinux() && LibstdcxxShim.IsApplied(nativeLib),
            NativeDirectory: TorchRuntime.NativeDirectory,
            Libstdcxx: OperatingSystem.IsLinux() ? SystemLibraries.FindLibstdcxx() : null,
            YamlDotNetVersion: InformationalVersion(typeof(YamlDotNet.Serialization.Deserializer).Assembly),
            DotNetVersion: RuntimeInformation.FrameworkDescription,
            OperatingSystem: RuntimeInformation.OSDescription,
            ComputeCheckPassed: passed,
            ComputeCheckMilliseconds: ms);
    }

    /// <summary>
    /// A 64x64 matrix product of small integers, exact in float32, compared with the same product computed in
    /// managed code: proves that libtorch runs and computes correctly, not merely that it loaded.
    /// </summary>
    public static (bool Passed, double Milliseconds) RunComputeCheck()
    {
        const int n = 64;
        var a = new float[n * n];
        var b = new float[n * n];
        for (int i = 0; i < n * n; i++)
        {
            a[i] = (i * 7 % 13) - 6;
            b[i] = (i * 5 % 11) - 5;
        }
        var expected = new float[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                float sum = 0;
                for (int k = 0; k < n; k++) sum += a[i * n + k] * b[k * n + j];
                expected[i * n + j] = sum;
            }

        using var scope = torch.NewDisposeScope();
        var watch = Stopwatch.StartNew();
        var product = torch.tensor(a, new long[] { n, n }, device: torch.CPU).matmul(torch.tensor(b, new long[] { n, n }, device: torch.CPU));
        var actual = product.data<float>().ToArray();
        watch.Stop();
        return (actual.SequenceEqual(expected), watch.Elapsed.TotalMilliseconds);
    }

    // TorchSharp reports libtorch as a four-part NuGet version ("2.10.0.0"); PyTorch users know "2.10.0".
    private static string ThreePartVersion(string version)
    {
        var parts = version.Split('.');
        return parts.Length == 4 && parts[3] == "0" ? string.Join('.', parts, 0, 3) : version;
    }

    private static string InformationalVersion(Assembly assembly)
    {
        var v = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                ?? assembly.GetName().Version?.ToString() ?? "unknown";
        int plus = v.IndexOf('+');
        return plus > 0 ? v[..plus] : v;
    }
}
