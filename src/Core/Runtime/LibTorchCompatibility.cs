using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using TrainableTokens.Core.Native;

namespace TrainableTokens.Core.Runtime;

/// <summary>
/// Before TorchSharp touches a libtorch brought from PyTorch: loads its libraries (by path, so TorchSharp's wrapper
/// binds to them and not to the bundled ones) and checks, as <c>ldd -r</c> would, that every symbol the wrapper needs
/// resolves against them. A wheel of another PyTorch release, or of the old C++ ABI, lacks some; using it would fail
/// later, at the first operation that needs one, with an undefined-symbol crash.
/// </summary>
internal static class LibTorchCompatibility
{
    /// <summary>Loads <paramref name="location"/>'s libraries and checks <paramref name="wrapperPath"/> against them;
    /// returns the handles of the loaded libraries by file name. Throws <see cref="NativeRuntimeException"/> naming both
    /// versions and what to install.</summary>
    public static IReadOnlyDictionary<string, IntPtr> LoadAndCheck(LibTorchLocation location, string wrapperPath)
    {
        var handles = new Dictionary<string, IntPtr>(StringComparer.Ordinal);
        foreach (var name in LibTorchLocation.CoreLibraries.Concat(location.HasCuda ? LibTorchLocation.CudaLibraries : []))
        {
            var path = Path.Combine(location.Directory, name);
            try
            {
                handles[name] = NativeLibrary.Load(path);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                throw new NativeRuntimeException(
                    $"The libtorch named by {LibTorchLocation.VariableName} ('{location.Directory}', {Describe(location.Version)}) does not load: {e.Message.Trim()} " +
                    $"{(name.Contains("cuda", StringComparison.Ordinal) ? "Its CUDA libraries need the NVIDIA packages PyTorch installs with it (nvidia-* wheels) and a driver. " : "")}" +
                    $"Install PyTorch {LibTorchLocation.ExpectedVersion} in that Python environment, or remove {LibTorchLocation.VariableName} to use the module's own CPU libtorch.", path, e);
            }
        }
        var missing = MissingSymbols(wrapperPath, location.Directory, handles);
        if (missing.Count > 0)
            throw new NativeRuntimeException(
                $"The libtorch named by {LibTorchLocation.VariableName} ('{location.Directory}') is {Describe(location.Version)}, but TorchSharp's native wrapper " +
                $"{Path.GetFileName(wrapperPath)} was built for libtorch {LibTorchLocation.ExpectedVersion}: {missing.Count} symbol(s) it needs are not in it " +
                $"(first: {string.Join(", ", missing.Take(3))}). Install PyTorch {LibTorchLocation.ExpectedVersion} (pip install torch=={LibTorchLocation.ExpectedVersion}, " +
                $"a build with the C++11 ABI, as PyTorch's own wheels are) and point {LibTorchLocation.VariableName} at its torch/lib, or remove the variable to use the module's own CPU libtorch. " +
                "Start a new PowerShell session afterwards: a loaded libtorch cannot be unloaded.", location.Directory);
        return handles;
    }

    /// <summary>Every required symbol of <paramref name="wrapperPath"/> that none of the libraries it needs provides: its
    /// DT_NEEDED libraries are taken from <paramref name="handles"/> when they are libtorch's, else loaded by name (the
    /// C and C++ runtimes), and each symbol is looked up in them as the dynamic loader would.</summary>
    internal static IReadOnlyList<string> MissingSymbols(string wrapperPath, string libtorchDirectory, IReadOnlyDictionary<string, IntPtr> handles)
    {
        var elf = ElfFile.Open(wrapperPath);
        var providers = new List<IntPtr>();
        var unavailable = new List<string>();
        foreach (var needed in elf.ReadNeededLibraries())
        {
            if (handles.TryGetValue(needed, out var handle)) providers.Add(handle);
            else if (File.Exists(Path.Combine(libtorchDirectory, needed)) && NativeLibrary.TryLoad(Path.Combine(libtorchDirectory, needed), out handle)) providers.Add(handle);
            else if (NativeLibrary.TryLoad(needed, out handle)) providers.Add(handle);
            else unavailable.Add(needed);
        }
        var missing = unavailable.Select(l => $"library {l}").ToList();
        foreach (var symbol in elf.ReadRequiredSymbols())
            if (!providers.Any(h => NativeLibrary.TryGetExport(h, symbol, out _))) missing.Add(symbol);
        return missing;
    }

    private static string Describe(string? version) => version is null ? "of an unknown version (no torch/version.py beside it)" : $"version {version}";
}
