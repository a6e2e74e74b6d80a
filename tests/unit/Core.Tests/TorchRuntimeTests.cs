using System.IO;
using TrainableTokens.Core.Native;
using TrainableTokens.Core.Runtime;

namespace TrainableTokens.Core.Tests;

public sealed class TorchRuntimeTests
{
    [Fact]
    public void Libtorch_loads_and_multiplies_matrices_exactly()
    {
        TorchRuntime.EnsureLoaded();
        var (passed, ms) = EnvironmentProbe.RunComputeCheck();
        Assert.True(passed);
        Assert.True(ms >= 0);
    }

    [Fact]
    public void Environment_report_describes_this_machine()
    {
        var report = EnvironmentProbe.Collect();
        Assert.Equal("2.10.0", report.LibTorchVersion);
        Assert.Equal("0.107.0", report.TorchSharpVersion);
        Assert.Equal("cpu", report.BuildFlavour);
        Assert.Equal("CPU", report.Backend);
        Assert.True(report.CpuThreads >= 1);
        Assert.True(report.ComputeCheckPassed);
        Assert.StartsWith("18.", report.YamlDotNetVersion);
        var systemLacksVersion = !ElfFile.Open(SystemLibraries.FindLibstdcxx()!).ReadVersionDefinitions().Contains(LibstdcxxShim.KnownVersion);
        Assert.Equal(systemLacksVersion, report.NativeShimApplied);
        Assert.True(File.Exists(Path.Combine(report.NativeDirectory, "libtorch_cpu.so")));
    }

    [Fact]
    public void Unused_libtorch_libraries_are_left_out_of_the_output()
    {
        Assert.False(File.Exists(Path.Combine(TorchRuntime.NativeDirectory, "libtorch_python.so")));
        Assert.True(File.Exists(Path.Combine(TorchRuntime.NativeDirectory, "libtorch_cpu.so")));
    }
}
