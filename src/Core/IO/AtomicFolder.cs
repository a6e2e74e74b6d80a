using System;
using System.IO;

namespace TrainableTokens.Core;

/// <summary>
/// Creates a folder so that it appears complete or not at all: the content is written into a hidden sibling folder
/// that is renamed into place at the end. A failure (or Ctrl+C) leaves the target as it was and no partial folder.
/// </summary>
public static class AtomicFolder
{
    /// <summary>Runs <paramref name="write"/> on a fresh temporary sibling of <paramref name="path"/>, then moves it into place.
    /// Missing parent folders are created. An existing <paramref name="path"/> is replaced only when <paramref name="overwrite"/> is true.</summary>
    public static void Write(string path, Action<string> write, bool overwrite)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        bool exists = Directory.Exists(full) || File.Exists(full);
        if (exists && !overwrite)
            throw new IOException($"'{full}' already exists. Use -Force to replace it.");
        var temp = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.partial");
        Directory.CreateDirectory(temp);
        try
        {
            write(temp);
            if (exists)
            {
                var old = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.old");
                Directory.Move(full, old);
                Directory.Move(temp, full);
                Directory.Delete(old, recursive: true);
            }
            else
            {
                Directory.Move(temp, full);
            }
        }
        catch
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            throw;
        }
    }
}
