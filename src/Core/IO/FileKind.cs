using System;
using System.IO;
using System.Runtime.InteropServices;

namespace TrainableTokens.Core.IO;

/// <summary>What a path names on disk. .NET reports FIFOs and devices as ordinary files, and opening a FIFO blocks
/// until a writer comes, so readers of user files ask this first.</summary>
public enum FileKindValue
{
    Missing,
    Regular,
    Directory,
    SymbolicLink,
    Fifo,
    CharacterDevice,
    BlockDevice,
    Socket,
    Other,
}

/// <summary>Reads a path's file type with <c>statx</c> (Linux; its layout is the same on every architecture).</summary>
public static partial class FileKind
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const int StatxBufferBytes = 256;
    private const int ModeOffset = 0x1C;

    /// <summary>The kind of <paramref name="path"/>; symbolic links are followed unless <paramref name="followLinks"/> is false.</summary>
    public static FileKindValue Of(string path, bool followLinks = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!OperatingSystem.IsLinux()) return Portable(path, followLinks);
        Span<byte> buffer = stackalloc byte[StatxBufferBytes];
        int rc;
        unsafe
        {
            fixed (byte* b = buffer)
                rc = Statx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxType, b);
        }
        if (rc != 0) return Portable(path, followLinks);
        var mode = BitConverter.ToUInt16(buffer.Slice(ModeOffset, 2));
        return (mode & 0xF000) switch
        {
            0x8000 => FileKindValue.Regular,
            0x4000 => FileKindValue.Directory,
            0xA000 => FileKindValue.SymbolicLink,
            0x1000 => FileKindValue.Fifo,
            0x2000 => FileKindValue.CharacterDevice,
            0x6000 => FileKindValue.BlockDevice,
            0xC000 => FileKindValue.Socket,
            _ => FileKindValue.Other,
        };
    }

    /// <summary>Words for a message: "a FIFO (named pipe)", "a folder", ...</summary>
    public static string Describe(FileKindValue kind) => kind switch
    {
        FileKindValue.Missing => "missing",
        FileKindValue.Regular => "a regular file",
        FileKindValue.Directory => "a folder",
        FileKindValue.SymbolicLink => "a symbolic link",
        FileKindValue.Fifo => "a FIFO (named pipe)",
        FileKindValue.CharacterDevice => "a character device",
        FileKindValue.BlockDevice => "a block device",
        FileKindValue.Socket => "a socket",
        _ => "not a regular file",
    };

    private static FileKindValue Portable(string path, bool followLinks)
    {
        var info = new FileInfo(path);
        if (!info.Exists && !Directory.Exists(path)) return info.LinkTarget is not null ? FileKindValue.SymbolicLink : FileKindValue.Missing;
        if (!followLinks && info.LinkTarget is not null) return FileKindValue.SymbolicLink;
        return Directory.Exists(path) ? FileKindValue.Directory : FileKindValue.Regular;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);
}
