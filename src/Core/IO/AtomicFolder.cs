using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using TrainableTokens.Core.IO;

namespace TrainableTokens.Core;

/// <summary>
/// Creates a folder so that it appears complete or not at all: the content is written into a hidden sibling folder
/// that is swapped into place at the end. A failure, Ctrl+C or kill leaves the target as it was; what a kill leaves
/// behind (a hidden <c>.name.*.partial</c>) is removed by the next write of the same target.
/// <para>An existing target is replaced only with overwrite, and only when this same command wrote it (it holds the
/// marker file <see cref="MarkerFileName"/>) or it is an empty folder: -Force never deletes what the user owns.</para>
/// </summary>
public static partial class AtomicFolder
{
    /// <summary>The hidden file in every folder written here, naming the command that wrote it.</summary>
    public const string MarkerFileName = ".trainable-tokens-output.json";

    private const int RenameExchange = 2;
    private const int EnospcErrno = 28;
    private const int EdquotErrno = 122;

    /// <summary>Runs <paramref name="write"/> on a fresh temporary sibling of <paramref name="path"/>, then moves it into place.
    /// Missing parent folders are created. An existing <paramref name="path"/> is replaced only when <paramref name="overwrite"/>
    /// is true and <paramref name="writer"/> (the command's name) wrote it. A null writer writes no marker and replaces
    /// unconditionally: for places the caller already owns, such as a run's checkpoint-N in its own output_dir.</summary>
    public static void Write(string path, Action<string> write, bool overwrite, string? writer = "TrainableTokens")
    {
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var parent = Path.GetDirectoryName(full)!;
        OutputLock held;
        try
        {
            Directory.CreateDirectory(parent);
            held = OutputLock.Acquire(full, writer ?? "TrainableTokens");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw WriteFailed(full, e);
        }
        using var _ = held;
        RecoverInterrupted(full);
        bool exists = Directory.Exists(full) || File.Exists(full);
        if (exists && writer is not null) CheckReplaceable(full, overwrite, writer);
        else if (exists && !overwrite) throw new OutputConflictException($"'{full}' already exists. Use -Force to replace it, or choose another output path.", full, "OutputExists");
        else if (exists && File.Exists(full)) throw new OutputConflictException($"'{full}' is a file, not a folder; nothing was written. Choose another path.", full);
        var temp = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.partial");
        try
        {
            Directory.CreateDirectory(temp);
            write(temp);
            if (writer is not null) File.WriteAllText(Path.Combine(temp, MarkerFileName), Marker(writer), new UTF8Encoding(false));
            else File.Delete(Path.Combine(temp, MarkerFileName));
            if (!exists) Directory.Move(temp, full);
            else if (Exchange(temp, full)) DeleteQuietly(temp); // temp now holds the old content
            else ReplaceInTwoSteps(temp, full);
        }
        catch (Exception e)
        {
            DeleteQuietly(temp);
            if (e is IOException or UnauthorizedAccessException) throw WriteFailed(full, e);
            throw;
        }
    }

    /// <summary>Removes what an interrupted write of <paramref name="full"/> left: partial folders, and a replaced
    /// folder that a kill caught between its two renames (put back when the target is missing).</summary>
    public static void RecoverInterrupted(string full)
    {
        var parent = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(parent)) return;
        var name = Path.GetFileName(full);
        var leftovers = Directory.EnumerateFileSystemEntries(parent, $".{name}.*")
            .Where(p => Leftover().IsMatch(Path.GetFileName(p)[(name.Length + 2)..]))
            .ToList();
        var old = leftovers.Where(p => p.EndsWith(".old", StringComparison.Ordinal)).ToList();
        if (!Directory.Exists(full) && !File.Exists(full) && old.Count > 0)
        {
            Directory.Move(old[0], full);
            old.RemoveAt(0);
        }
        foreach (var p in leftovers.Where(p => !p.EndsWith(".old", StringComparison.Ordinal)).Concat(old)) DeleteQuietly(p);
    }

    /// <summary>Deletes a folder so that it disappears at once: renamed to a hidden <c>.name.*.deleting</c> first (which
    /// <see cref="RecoverInterrupted"/> finishes deleting after a kill), so no half-deleted folder is ever visible.</summary>
    public static void Delete(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (!Directory.Exists(full)) return;
        var doomed = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.deleting");
        Directory.Move(full, doomed);
        DeleteQuietly(doomed);
    }

    /// <summary>The name of the command that wrote <paramref name="folder"/>, or null when the folder has no valid marker.</summary>
    public static string? WriterOf(string folder)
    {
        var marker = Path.Combine(folder, MarkerFileName);
        try
        {
            if (new FileInfo(marker) is not { Exists: true, Length: < 4096 }) return null;
            using var doc = JsonDocument.Parse(File.ReadAllBytes(marker));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("written_by", out var w) && w.ValueKind == JsonValueKind.String
                ? w.GetString()
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Throws <see cref="OutputConflictException"/> unless <paramref name="path"/> is free, or may be replaced: with
    /// <paramref name="overwrite"/>, an empty folder or one <paramref name="writer"/> wrote. For plans and -WhatIf.</summary>
    public static void EnsureWritable(string path, bool overwrite, string writer)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (Directory.Exists(full) || File.Exists(full)) CheckReplaceable(full, overwrite, writer);
    }

    private static void CheckReplaceable(string full, bool overwrite, string writer)
    {
        if (!overwrite)
            throw new OutputConflictException($"'{full}' already exists. Use -Force to replace it, or choose another output path.", full, "OutputExists");
        if (File.Exists(full))
            throw new OutputConflictException(
                $"'{full}' is a file, and {writer} writes a folder; -Force replaces only a folder {writer} wrote itself. Nothing was written. " +
                "Choose another output path, or remove the file yourself if you no longer need it.", full);
        if (!Directory.EnumerateFileSystemEntries(full).Any()) return;
        var by = WriterOf(full);
        if (by == writer) return;
        throw new OutputConflictException(
            $"'{full}' exists and was not written by {writer} ({(by is null ? $"it has no {MarkerFileName}" : $"{by} wrote it")}), so -Force does not replace it: " +
            "it may hold files you own. Nothing was written. Choose another output path, or remove the folder yourself if you no longer need it.", full);
    }

    /// <summary>Swaps the two paths in one step (Linux renameat2); false where the file system or OS cannot.</summary>
    private static bool Exchange(string a, string b)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return Renameat2(-100, a, -100, b, RenameExchange) == 0;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Where an exchange is not possible: move the old folder aside, the new one in, then delete the old.
    /// A kill between the renames leaves only the ".old" folder, which <see cref="RecoverInterrupted"/> puts back.</summary>
    private static void ReplaceInTwoSteps(string temp, string full)
    {
        var old = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.old");
        Directory.Move(full, old);
        try
        {
            Directory.Move(temp, full);
        }
        catch
        {
            Directory.Move(old, full);
            throw;
        }
        DeleteQuietly(old);
    }

    private static string Marker(string writer) =>
        JsonSerializer.Serialize(new { written_by = writer, written_at = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"), version = typeof(AtomicFolder).Assembly.GetName().Version?.ToString() }) + "\n";

    /// <summary>The user's path and what to do, not the hidden temporary path .NET names.</summary>
    internal static Exception WriteFailed(string full, Exception e)
    {
        if (e is TrainableTokensException) return e;
        var errno = e.HResult & 0xFFFF;
        if (e is IOException && (errno == EnospcErrno || errno == EdquotErrno || e.HResult == unchecked((int)0x80070070)))
        {
            var free = FreeSpace(full);
            return new OutputWriteException("DiskFull",
                $"There is not enough disk space to write '{full}'{(free is { } f ? $" ({UserFile.FormatBytes(f)} free on its disk)" : "")}. " +
                "Nothing was written and anything already there is as it was. Free some space or choose an output path on another disk.", full, e);
        }
        if (e is UnauthorizedAccessException)
            return new OutputWriteException("OutputAccessDenied",
                $"'{full}' cannot be written: permission denied. Nothing was written. Choose a folder you can write to.", full, e);
        return new OutputWriteException("OutputWriteFailed",
            $"Writing '{full}' failed: {e.Message} Nothing was written and anything already there is as it was.", full, e);
    }

    private static long? FreeSpace(string full)
    {
        try
        {
            var existing = Path.GetDirectoryName(full);
            while (existing is not null && !Directory.Exists(existing)) existing = Path.GetDirectoryName(existing);
            return existing is null ? null : new DriveInfo(existing).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    internal static void DeleteQuietly(string path)
    {
        try
        {
            if (Directory.Exists(path) && !File.GetAttributes(path).HasFlag(FileAttributes.ReparsePoint)) Directory.Delete(path, recursive: true);
            else if (File.Exists(path) || Directory.Exists(path)) File.Delete(path);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    [GeneratedRegex("^[0-9a-f]{32}\\.(partial|old|deleting)$")]
    private static partial Regex Leftover();

    [LibraryImport("libc", EntryPoint = "renameat2", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Renameat2(int oldDirFd, string oldPath, int newDirFd, string newPath, uint flags);
}
