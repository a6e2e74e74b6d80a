using System;
using System.IO;
using System.Runtime.InteropServices;

namespace TrainableTokens.Core.IO;

/// <summary>
/// The canonical form of a path, symbolic links resolved, for comparing an output with the inputs: a link or a
/// "../" must not hide that two paths are the same folder. A path that does not exist yet is resolved up to its
/// nearest existing ancestor and the rest appended.
/// </summary>
public static partial class RealPath
{
    public static string Of(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var rest = "";
        var current = full;
        while (true)
        {
            var resolved = Resolve(current);
            if (resolved is not null) return rest.Length == 0 ? resolved : Path.Join(resolved, rest);
            var parent = Path.GetDirectoryName(current);
            if (parent is null) return full;
            rest = rest.Length == 0 ? Path.GetFileName(current) : Path.Join(Path.GetFileName(current), rest);
            current = parent;
        }
    }

    /// <summary>True when <paramref name="inner"/> is <paramref name="outer"/> or lies inside it (both canonical).</summary>
    public static bool IsSameOrInside(string inner, string outer)
    {
        if (string.Equals(inner, outer, StringComparison.Ordinal)) return true;
        var prefix = outer.EndsWith(Path.DirectorySeparatorChar) ? outer : outer + Path.DirectorySeparatorChar;
        return inner.StartsWith(prefix, StringComparison.Ordinal);
    }

    private static string? Resolve(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) return null;
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return path;
        var result = NativeRealPath(path, IntPtr.Zero);
        if (result == IntPtr.Zero) return path;
        try
        {
            return Path.TrimEndingDirectorySeparator(Marshal.PtrToStringUTF8(result) ?? path);
        }
        finally
        {
            Free(result);
        }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr NativeRealPath(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(IntPtr pointer);
}
