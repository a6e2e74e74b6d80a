using System;
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
            _loaded = true;
        }
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
