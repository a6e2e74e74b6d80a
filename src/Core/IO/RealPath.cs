using System;
using System.Collections.Generic;
using System.IO;

namespace TrainableTokens.Core.IO;

/// <summary>
/// The canonical path of a file or folder: absolute, every symbolic link in it resolved, no <c>.</c> or <c>..</c>
/// (POSIX <c>realpath</c>). A path that does not exist (yet) keeps its missing tail as written, so the result still
/// says where it would be. Comparing real paths is how "is this inside that folder" is answered with links about.
/// </summary>
public static class RealPath
{
    /// <summary>Links followed before a path is declared a loop, as the Linux kernel's limit.</summary>
    private const int MaxLinks = 40;

    public static string Of(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full)!;
        var pending = new Stack<string>();
        PushParts(pending, full[root.Length..]);
        var current = root;
        var links = 0;
        var missing = false;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part == ".") continue;
            if (part == "..")
            {
                // current is already resolved, so its lexical parent is its real parent.
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }
            var next = Path.Join(current, part);
            if (!missing)
            {
                var info = new FileInfo(next);
                var target = info.LinkTarget;
                if (target is not null)
                {
                    if (++links > MaxLinks)
                        throw new IOException($"'{path}' has more than {MaxLinks} symbolic links in a row (a loop of links?).");
                    if (Path.IsPathRooted(target)) current = Path.GetPathRoot(target)!;
                    PushParts(pending, Path.IsPathRooted(target) ? target[Path.GetPathRoot(target)!.Length..] : target);
                    continue;
                }
                missing = !info.Exists && !Directory.Exists(next);
            }
            current = next;
        }
        return current;
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="folder"/> or lies inside it; both must be real paths.</summary>
    public static bool IsInside(string path, string folder)
    {
        var f = Path.TrimEndingDirectorySeparator(folder);
        return path == f || path.StartsWith(f + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            || (f.Length > 0 && f[^1] == Path.DirectorySeparatorChar && path.StartsWith(f, StringComparison.Ordinal));
    }

    private static void PushParts(Stack<string> pending, string relative)
    {
        var parts = relative.Split(new[] { Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar }, StringSplitOptions.RemoveEmptyEntries);
        for (var i = parts.Length - 1; i >= 0; i--) pending.Push(parts[i]);
    }
}
