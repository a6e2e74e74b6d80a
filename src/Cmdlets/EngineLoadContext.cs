using System;
using System.IO;
using System.Reflection;
using System.Runtime.Loader;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// The module's own assembly load context: the engine and everything it depends on (TorchSharp, YamlDotNet, the
/// native libraries) load from the module's Dependencies folder, so another module's versions of the same
/// assemblies in the PowerShell session cannot clash with ours.
/// </summary>
internal sealed class EngineLoadContext : AssemblyLoadContext
{
    public const string EngineAssemblyName = "TrainableTokens.Core";

    private readonly string _dependencies;

    public EngineLoadContext(string dependencies) : base("TrainableTokens", isCollectible: false)
    {
        _dependencies = dependencies;
    }

    public string DependencyFolder => _dependencies;

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // Only what ships in Dependencies is ours; framework assemblies come from the default context.
        var path = Path.Combine(_dependencies, assemblyName.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        // TorchSharp asks for "LibTorchSharp", "torch_cpu", "torch_cuda"; the files are lib<name>.so on Linux. With a
        // user's libtorch (TRAINABLETOKENS_LIBTORCH, which the engine checks and loads first) libtorch's own libraries come
        // from that folder, so the bundled copies never load beside it; the wrapper is always the module's.
        var userLibTorch = Environment.GetEnvironmentVariable("TRAINABLETOKENS_LIBTORCH");
        foreach (var candidate in NativeFileNames(unmanagedDllName))
        {
            if (string.IsNullOrWhiteSpace(userLibTorch) || candidate.Contains("LibTorchSharp", StringComparison.Ordinal)) continue;
            foreach (var folder in new[] { userLibTorch.Trim(), Path.Combine(userLibTorch.Trim(), "lib") })
                if (File.Exists(Path.Combine(folder, candidate))) return LoadUnmanagedDllFromPath(Path.GetFullPath(Path.Combine(folder, candidate)));
        }
        foreach (var candidate in NativeFileNames(unmanagedDllName))
        {
            var path = Path.Combine(_dependencies, candidate);
            if (File.Exists(path)) return LoadUnmanagedDllFromPath(path);
        }
        return IntPtr.Zero;
    }

    private static string[] NativeFileNames(string name)
    {
        if (Path.IsPathRooted(name)) return Array.Empty<string>();
        if (OperatingSystem.IsWindows())
            return name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? new[] { name } : new[] { name + ".dll", name };
        if (OperatingSystem.IsMacOS())
            return new[] { "lib" + name + ".dylib", name + ".dylib", name };
        return name.Contains(".so", StringComparison.Ordinal) ? new[] { name } : new[] { "lib" + name + ".so", name + ".so", name };
    }
}
