using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace TrainableTokens.Core.Tests;

/// <summary>Inputs a careless or hostile user can give a reader: FIFOs, devices, sparse giants, deep nesting.</summary>
internal static partial class HostileFiles
{
    /// <summary>Makes a FIFO at <paramref name="path"/>; opening it for reading would block until a writer comes.</summary>
    public static string Fifo(string path)
    {
        if (MkFifo(path, Convert.ToUInt32("644", 8)) != 0) throw new IOException($"mkfifo '{path}' failed: errno {Marshal.GetLastPInvokeError()}.");
        return path;
    }

    /// <summary>A symbolic link at <paramref name="path"/> to <paramref name="device"/> (/dev/zero never ends, /dev/urandom neither).</summary>
    public static string LinkTo(string path, string device)
    {
        File.CreateSymbolicLink(path, device);
        return path;
    }

    /// <summary>A regular file of <paramref name="length"/> zero bytes that takes no disk space.</summary>
    public static string Sparse(string path, long length, byte[]? prefix = null)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        if (prefix is not null) stream.Write(prefix);
        stream.SetLength(length);
        return path;
    }

    /// <summary><paramref name="depth"/> nested brackets: "[[[...]]]".</summary>
    public static string Nested(int depth, char open = '[', char close = ']')
    {
        var text = new StringBuilder(2 * depth);
        text.Append(open, depth).Append(close, depth);
        return text.ToString();
    }

    [LibraryImport("libc", EntryPoint = "mkfifo", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int MkFifo(string path, uint mode);
}
