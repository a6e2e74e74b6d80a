using System;
using System.IO;
using System.Text;
using System.Text.Json;

namespace TrainableTokens.Core.IO;

/// <summary>
/// Keeps two commands from writing one output at once. The lock is an advisory, exclusive lock on a hidden file beside
/// the output (<c>.name.lock</c>), so the kernel releases it when the holder dies: a crashed run never leaves it stuck.
/// Who holds it (process id, host, start time, command) is written to <c>.name.lock.json</c> for the error others get.
/// </summary>
public sealed class OutputLock : IDisposable
{
    private readonly FileStream _stream;
    private readonly string _lockPath;
    private readonly string _holderPath;

    private OutputLock(FileStream stream, string lockPath, string holderPath)
    {
        _stream = stream;
        _lockPath = lockPath;
        _holderPath = holderPath;
    }

    /// <summary>Takes the lock for <paramref name="output"/> (created parent folders included), or throws
    /// <see cref="OutputWriteException"/> naming the holder.</summary>
    public static OutputLock Acquire(string output, string command)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(output));
        var parent = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{full}' has no parent folder.", nameof(output));
        Directory.CreateDirectory(parent);
        var name = Path.GetFileName(full);
        var lockPath = Path.Combine(parent, $".{name}.lock");
        var holderPath = lockPath + ".json";
        FileStream stream;
        try
        {
            // FileShare.None takes flock(LOCK_EX | LOCK_NB) on Unix; it fails at once while another process holds it.
            stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException && e.HResult != 28)
        {
            throw new OutputWriteException("OutputLocked",
                $"'{full}' is being written by another run ({Holder(holderPath)}). Wait for it to finish or stop it, or choose another output path. " +
                "The lock goes away by itself when that process ends.", full, e);
        }
        var held = new OutputLock(stream, lockPath, holderPath);
        try
        {
            var holder = JsonSerializer.Serialize(new
            {
                pid = Environment.ProcessId,
                host = Environment.MachineName,
                started = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
                command,
            });
            // Written in place, not via a temp file: a kill must leave nothing but these two files, which the next
            // holder reuses; a torn description only reads as "holder unknown".
            File.WriteAllBytes(holderPath, Encoding.UTF8.GetBytes(holder));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The lock itself holds; only the description for others is missing.
        }
        return held;
    }

    public void Dispose()
    {
        // Delete while still holding the lock, so no one else is told about a holder that is gone.
        TryDelete(_holderPath);
        TryDelete(_lockPath);
        _stream.Dispose();
    }

    private static string Holder(string holderPath)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(holderPath));
            var r = doc.RootElement;
            var pid = r.GetProperty("pid").GetInt32();
            var host = r.GetProperty("host").GetString();
            var started = r.GetProperty("started").GetString();
            var command = r.GetProperty("command").GetString();
            return $"{command}, process {pid} on {host}, started {started}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException or
                                      System.Collections.Generic.KeyNotFoundException or FormatException)
        {
            return "holder unknown";
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
