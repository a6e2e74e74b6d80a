using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Reflection;
using TorchSharp;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Runtime;

namespace TrainableTokens.Core.Preflight;

/// <summary>
/// Checks that the device exists in this build and on this machine and that the dtype is usable there. libtorch is
/// loaded only when the run asks for cuda and a libtorch with CUDA is in use (the CUDA build, or TRAINABLETOKENS_LIBTORCH);
/// otherwise the answer comes from what the build is.
/// </summary>
public static class DeviceCheck
{
    /// <summary>Which libtorch this engine was built with: cpu, cuda or wincpu.</summary>
    public static string BuildFlavour { get; } =
        typeof(DeviceCheck).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "TorchFlavour")?.Value ?? "cpu";

    /// <summary>For a cmdlet's -Device: a name other than cpu, cuda or cuda:N, or a device this build or machine lacks,
    /// is an <see cref="UnusableDeviceException"/>, thrown before anything loads.</summary>
    public static void EnsureUsable(string device, string dtype)
    {
        if (!System.Text.RegularExpressions.Regex.IsMatch(device, @"^(cpu|cuda(:[0-9]+)?)$"))
            throw new UnusableDeviceException($"Device '{device}' is not one this module knows. Use cpu, cuda or cuda:N (N the GPU's index).", device);
        var problem = Check(device, dtype).FirstOrDefault(p => p.Severity == ConfigSeverity.Error);
        if (problem.Message is not null) throw new UnusableDeviceException(problem.Message.Replace("device: cpu", "-Device cpu", System.StringComparison.Ordinal), device);
    }

    /// <summary>Problems as (the run-file key, severity, message).</summary>
    public static IReadOnlyList<(string Key, ConfigSeverity Severity, string Message)> Check(string device, string dtype)
    {
        var problems = new List<(string, ConfigSeverity, string)>();
        if (device.StartsWith("cuda", System.StringComparison.Ordinal))
        {
            if (BuildFlavour != "cuda" && !TorchRuntime.ResolveLocation().HasCuda)
            {
                problems.Add(("device", ConfigSeverity.Error,
                    $"device is '{device}', but this is the {BuildFlavour} build of the module, which has no CUDA. Use device: cpu, set {LibTorchLocation.VariableName} to the torch/lib folder of an installed CUDA PyTorch, or build the module with './build.ps1 -Flavour cuda' on a machine with an NVIDIA GPU."));
                return problems;
            }
            TorchRuntime.EnsureLoaded();
            if (!TorchRuntime.CudaAvailable)
            {
                problems.Add(("device", ConfigSeverity.Error, $"device is '{device}', but CUDA is not available on this machine (no GPU, or no driver). Use device: cpu."));
                return problems;
            }
            var count = torch.cuda.device_count();
            if (device.Length > 5 && int.Parse(device.Substring(5), CultureInfo.InvariantCulture) is var index && index >= count)
                problems.Add(("device", ConfigSeverity.Error, $"device is '{device}', but this machine has {count} GPU{(count == 1 ? "" : "s")} (cuda:0{(count > 1 ? $" to cuda:{count - 1}" : "")})."));
        }
        else if (dtype == "float16")
        {
            problems.Add(("dtype", ConfigSeverity.Warning,
                "dtype float16 on the CPU is slow and some operations have no float16 kernels there. Use bfloat16 (same memory) or float32 on the CPU."));
        }
        return problems;
    }
}
