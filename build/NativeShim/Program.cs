using System;
using System.IO;
using TrainableTokens.Core.Native;

// Usage: TrainableTokens.NativeShim <output folder>
// Applies the GLIBCXX_3.4.32 shim to <folder>/libLibTorchSharp.so when this machine needs it; exit code 1 with a
// clear message when the library needs something the shim cannot safely provide.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: TrainableTokens.NativeShim <output folder>");
    return 2;
}
if (!OperatingSystem.IsLinux()) return 0;

var folder = Path.GetFullPath(args[0]);
var library = Path.Combine(folder, LibstdcxxShim.LibraryFileName);
if (!File.Exists(library)) return 0; // nothing in this folder loads TorchSharp

if (IsInsidePackageCache(library))
{
    Console.Error.WriteLine($"error TTSHIM02: refusing to patch '{library}': it is inside a NuGet package folder. The shim only changes built copies.");
    return 1;
}
var libstdcxx = SystemLibraries.FindLibstdcxx();
if (libstdcxx is null)
{
    Console.Error.WriteLine("error TTSHIM03: libstdc++.so.6 was not found on this machine (searched LD_LIBRARY_PATH, the ld.so cache and the standard folders). Install libstdc++6.");
    return 1;
}

var plan = LibstdcxxShim.Plan(library, libstdcxx);
switch (plan.Decision)
{
    case ShimDecision.Apply:
        LibstdcxxShim.Apply(plan);
        Console.WriteLine($"TrainableTokens native shim applied to {library}: {plan.Reason}");
        return 0;
    case ShimDecision.Refused:
        Console.Error.WriteLine($"error TTSHIM01: {plan.Reason}");
        return 1;
    default:
        Console.WriteLine($"TrainableTokens native shim not applied ({plan.Decision}): {plan.Reason}");
        return 0;
}

static bool IsInsidePackageCache(string path)
{
    var roots = new[]
    {
        Environment.GetEnvironmentVariable("NUGET_PACKAGES"),
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
        "/opt/nuget/packages",
    };
    foreach (var root in roots)
    {
        if (string.IsNullOrEmpty(root)) continue;
        var full = Path.GetFullPath(root).TrimEnd('/') + "/";
        if (path.StartsWith(full, StringComparison.Ordinal)) return true;
    }
    return false;
}
