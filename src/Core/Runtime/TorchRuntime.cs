using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using TorchSharp;

namespace TrainableTokens.Core.Runtime;

/// <summary>
/// Loads TorchSharp's native library before TorchSharp tries to. TorchSharp's own loader, when it fails, copies
/// ~480 MB of libtorch from the NuGet cache into a <c>cpu/</c> folder and then reports a misleading message; loading
/// it here first turns every failure into one clear error that says what to do.
/// </summary>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static bool _loaded;
    // The user's libtorch libraries, loaded by path and kept for the life of the process (libtorch cannot be unloaded).
    private static IReadOnlyDictionary<string, IntPtr> _userLibraries = new Dictionary<string, IntPtr>();

    /// <summary>The libtorch in use, once <see cref="EnsureLoaded"/> has run; null before.</summary>
    public static LibTorchLocation? Location { get; private set; }

    /// <summary>True once the CUDA backend initialised (a libtorch with CUDA libraries, and a GPU with a driver).</summary>
    public static bool CudaAvailable { get; private set; }

    /// <summary>The libtorch this process uses or will use, without loading it (see <see cref="LibTorchLocation.Resolve(string)"/>).</summary>
    public static LibTorchLocation ResolveLocation() => Location ?? LibTorchLocation.Resolve(NativeDirectory);

    /// <summary>The folder holding TorchSharp.dll and, in a built module or test folder, every native library.</summary>
    public static string NativeDirectory => Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? AppContext.BaseDirectory;

    /// <summary>The file name of TorchSharp's native library on this operating system.</summary>
    public static string NativeLibraryFileName =>
        OperatingSystem.IsWindows() ? "LibTorchSharp.dll" :
        OperatingSystem.IsMacOS() ? "libLibTorchSharp.dylib" : "libLibTorchSharp.so";

    /// <summary>Makes sure libtorch is loaded; throws <see cref="NativeRuntimeException"/> with the fix when it cannot be.</summary>
    public static void EnsureLoaded()
    {
        if (_loaded) return;
        lock (Gate)
        {
            if (_loaded) return;
            var dir = NativeDirectory;
            var path = Path.Combine(dir, NativeLibraryFileName);
            if (!File.Exists(path))
                throw new NativeRuntimeException(
                    $"TorchSharp's native library {NativeLibraryFileName} is not in '{dir}'. The module folder is incomplete: " +
                    "rebuild it with './build.ps1 -Task Build' (or reinstall the module).", path);
            var location = LibTorchLocation.Resolve(dir);
            if (location.IsUserProvided)
            {
                if (!OperatingSystem.IsLinux())
                    throw new NativeRuntimeException($"{LibTorchLocation.VariableName} is supported on Linux only; remove it to use the module's own libtorch.", location.Directory);
                // Loaded by path before the wrapper, so the wrapper's libtorch dependencies bind to these (the loader
                // reuses a loaded library whose soname matches), and checked symbol by symbol first.
                EnsureNoBundledCopyWouldLoad(location);
                _userLibraries = LibTorchCompatibility.LoadAndCheck(location, path);
            }
            try
            {
                NativeLibrary.Load(path);
            }
            catch (DllNotFoundException e)
            {
                throw new NativeRuntimeException(DescribeLoadFailure(path, e.Message), path, e);
            }
            catch (BadImageFormatException e)
            {
                throw new NativeRuntimeException($"'{path}' is not a native library for this platform ({RuntimeInformation.ProcessArchitecture}): {e.Message}", path, e);
            }
            // TorchSharp loads by name; if that resolves differently from the file just loaded, it would fall back to
            // its cache-copying loader. Check the same lookup here and stop with our own error instead.
            if (!NativeLibrary.TryLoad("LibTorchSharp", typeof(torch).Assembly, null, out _))
                throw new NativeRuntimeException(
                    $"'{path}' loads, but the name 'LibTorchSharp' does not resolve to it from TorchSharp.dll. " +
                    "The module's assembly load context is not in use; import the module through TrainableTokens.psd1.", path);
            torch.InitializeDeviceType(DeviceType.CPU);
            // The CUDA backend, where libtorch has one: TorchSharp finds torch_cuda and the wrapper already loaded here,
            // so its own loader (the one that copies packages around) never runs. No GPU or driver just means no CUDA.
            if (location.HasCuda) CudaAvailable = torch.TryInitializeDeviceType(DeviceType.CUDA);
            Location = location;
            _loaded = true;
        }
    }

    /// <summary>TorchSharp asks for torch_cpu (and torch_cuda) by name from its static constructor on. The module's load
    /// context answers from the user's folder; the default context would answer with the bundled copy beside
    /// TorchSharp.dll, and two libtorch_cpu in one process abort. Refuse that case with a clear error instead.</summary>
    internal static void EnsureNoBundledCopyWouldLoad(LibTorchLocation location)
    {
        var context = System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(typeof(torch).Assembly);
        var bundled = Path.Combine(NativeDirectory, "libtorch_cpu.so");
        if (context != System.Runtime.Loader.AssemblyLoadContext.Default || !File.Exists(bundled)) return;
        if (IO.RealPath.Of(bundled) == IO.RealPath.Of(Path.Combine(location.Directory, "libtorch_cpu.so"))) return;
        throw new NativeRuntimeException(
            $"{LibTorchLocation.VariableName} names '{location.Directory}', but this process loads TorchSharp without the module's load context, " +
            $"and TorchSharp would also load the bundled '{bundled}' (two libtorch in one process abort). Use the module (Import-Module TrainableTokens), " +
            $"or remove the bundled libtorch libraries from '{NativeDirectory}'.", location.Directory);
    }

    private static string DescribeLoadFailure(string path, string loaderMessage)
    {
        var fix = loaderMessage.Contains("GLIBCXX_", StringComparison.Ordinal)
            ? "This machine's libstdc++ is older than the one TorchSharp was built with. Build the module on this machine " +
              "('./build.ps1 -Task Build' applies the native shim when it is needed), or install a newer libstdc++ (GCC 13 or later)."
            : loaderMessage.Contains("No such file", StringComparison.Ordinal) || loaderMessage.Contains("cannot open shared object", StringComparison.Ordinal)
                ? "A library it depends on is missing from the module folder; rebuild the module with './build.ps1 -Task Build'."
                : "Check that the module folder is complete and built for this platform.";
        return $"Cannot load TorchSharp's native library '{path}': {loaderMessage.Trim()} {fix}";
    }
}
