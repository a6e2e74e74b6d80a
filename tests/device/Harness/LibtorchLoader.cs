using System;
using System.IO;
using System.Runtime.InteropServices;

namespace TrainableTokens.DeviceHarness;

/// <summary>
/// Loads a libtorch that is not beside the harness (an installed PyTorch's torch/lib) before TorchSharp looks for one.
/// The libraries are opened by full path in dependency order; the wrapper's DT_NEEDED names (libc10.so, libtorch.so,
/// ...) then resolve to them by soname. The device script also puts the folder on LD_LIBRARY_PATH, so TorchSharp's own
/// by-name loads (torch_cuda for the CUDA backend) find the same files. It also sets TRAINABLETOKENS_LIBTORCH, the
/// engine's bring-your-own-libtorch setting, for a Core that reads it.
/// </summary>
internal static class LibtorchLoader
{
    private static readonly string[] CpuOrder = { "libc10.so", "libtorch_cpu.so", "libtorch.so" };
    private static readonly string[] CudaOrder = { "libc10_cuda.so", "libtorch_cuda.so" };

    public static string? LoadedFrom { get; private set; }

    public static void Preload(string folder)
    {
        var dir = Path.GetFullPath(folder);
        if (!File.Exists(Path.Combine(dir, "libtorch_cpu.so")))
            throw new HarnessException($"--libtorch '{dir}' holds no libtorch_cpu.so: name a libtorch lib folder (python3 -c \"import torch, os; print(os.path.dirname(torch.__file__) + '/lib')\").");
        Environment.SetEnvironmentVariable("TRAINABLETOKENS_LIBTORCH", dir);
        foreach (var name in CpuOrder) Load(Path.Combine(dir, name), required: name != "libtorch.so");
        foreach (var name in CudaOrder) Load(Path.Combine(dir, name), required: false);
        LoadedFrom = dir;
    }

    private static void Load(string path, bool required)
    {
        if (!File.Exists(path))
        {
            if (required) throw new HarnessException($"'{path}' is missing from the libtorch folder.");
            return;
        }
        try { NativeLibrary.Load(path); }
        catch (DllNotFoundException e) { throw new HarnessException($"Cannot load '{path}': {e.Message}"); }
    }
}

/// <summary>A harness failure with a message for the log (no stack trace needed).</summary>
internal sealed class HarnessException : Exception
{
    public HarnessException(string message) : base(message) { }
}
