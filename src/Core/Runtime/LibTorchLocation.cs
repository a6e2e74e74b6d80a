using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;

namespace TrainableTokens.Core.Runtime;

/// <summary>
/// Which libtorch the engine uses: the one shipped beside TorchSharp (the module's Dependencies folder), or one the
/// user names with <see cref="VariableName"/>: the <c>torch/lib</c> folder of an installed PyTorch (the <c>torch</c>
/// package folder itself is accepted too), typically a CUDA build that NuGet does not serve on this network.
/// </summary>
public sealed record LibTorchLocation(string Directory, string Source, string? Version, bool HasCuda)
{
    public const string VariableName = "TRAINABLETOKENS_LIBTORCH";
    public const string BundledSource = "bundled";

    /// <summary>The libraries libtorch consists of, in load order; the first three must be there.</summary>
    internal static readonly string[] CoreLibraries = ["libc10.so", "libtorch_cpu.so", "libtorch.so"];
    internal static readonly string[] CudaLibraries = ["libc10_cuda.so", "libtorch_cuda.so"];

    /// <summary>The libtorch version this TorchSharp's native wrapper was built against (from the build).</summary>
    public static string ExpectedVersion { get; } =
        typeof(LibTorchLocation).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "LibTorchVersion")?.Value ?? "unknown";

    /// <summary>True when a libtorch was named with <see cref="VariableName"/>.</summary>
    public bool IsUserProvided => Source != BundledSource;

    /// <summary>The libtorch this process will use: the variable's folder when it is set (checked to exist and to hold
    /// libtorch), else <paramref name="bundledDirectory"/>. Reads files only; loads nothing.</summary>
    public static LibTorchLocation Resolve(string bundledDirectory) => Resolve(bundledDirectory, Environment.GetEnvironmentVariable(VariableName));

    internal static LibTorchLocation Resolve(string bundledDirectory, string? named)
    {
        if (string.IsNullOrWhiteSpace(named))
            return new LibTorchLocation(bundledDirectory, BundledSource, ExpectedVersion, CudaLibraries.All(l => File.Exists(Path.Combine(bundledDirectory, l))));
        var folder = Path.GetFullPath(named.Trim());
        if (!System.IO.Directory.Exists(folder))
            throw new NativeRuntimeException(
                $"{VariableName} is '{named}', which is not a folder. Set it to the torch/lib folder of an installed PyTorch " +
                $"(e.g. .../site-packages/torch/lib, PyTorch {ExpectedVersion}), or remove it to use the module's own CPU libtorch.", folder);
        if (!File.Exists(Path.Combine(folder, "libtorch_cpu.so")) && File.Exists(Path.Combine(folder, "lib", "libtorch_cpu.so")))
            folder = Path.Combine(folder, "lib");
        var missing = CoreLibraries.Where(l => !File.Exists(Path.Combine(folder, l))).ToList();
        if (missing.Count > 0)
            throw new NativeRuntimeException(
                $"{VariableName} is '{named}', but '{folder}' has no {string.Join(", ", missing)}: it is not a libtorch folder. " +
                $"Point it at the torch/lib folder of an installed PyTorch {ExpectedVersion}, or remove it to use the module's own CPU libtorch.", folder);
        return new LibTorchLocation(folder, VariableName, ReadVersion(folder), CudaLibraries.All(l => File.Exists(Path.Combine(folder, l))));
    }

    /// <summary>The version a libtorch folder declares: PyTorch's torch/version.py beside lib, or the build-version file
    /// of a libtorch archive; null when neither says.</summary>
    internal static string? ReadVersion(string libFolder)
    {
        var parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(libFolder));
        if (parent is null) return null;
        var versionPy = Path.Combine(parent, "version.py");
        if (File.Exists(versionPy))
        {
            var text = IO.UserFile.ReadAllText(versionPy, 64 * 1024, "PyTorch version file", message => new NativeRuntimeException(message, versionPy));
            var m = Regex.Match(text, @"^__version__\s*=\s*['""]([^'""]+)['""]", RegexOptions.Multiline);
            if (m.Success) return m.Groups[1].Value;
        }
        var buildVersion = Path.Combine(parent, "build-version");
        if (File.Exists(buildVersion))
        {
            var text = IO.UserFile.ReadAllText(buildVersion, 4096, "libtorch build-version file", message => new NativeRuntimeException(message, buildVersion)).Trim();
            if (text.Length > 0) return text;
        }
        return null;
    }

    /// <summary>"2.10.0+cu128" and "2.10.0" name the same release; only the release is compared.</summary>
    internal static string Release(string version)
    {
        var plus = version.IndexOfAny(['+', 'a', 'b', 'r']);
        return plus > 0 ? version[..plus] : version;
    }
}
