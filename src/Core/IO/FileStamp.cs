using System;
using System.IO;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace TrainableTokens.Core.IO;

/// <summary>
/// What identifies one state of a file: device, inode, size and modification time. Two equal stamps taken before and
/// after reading mean nothing wrote the file in between (to the file system's timestamp granularity; a change of size
/// is always seen). The change time (ctime) is left out on purpose: it also moves when a file is renamed over the one
/// being read, which leaves the opened file's bytes as they were.
/// </summary>
internal readonly partial record struct FileStamp(ulong Device, ulong Inode, long Size, long ModifiedSeconds, uint ModifiedNanoseconds)
{
    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7FF;
    private const int StatxBufferBytes = 256;

    /// <summary>The stamp of the file <paramref name="path"/> names, following links.</summary>
    public static FileStamp Of(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (OperatingSystem.IsLinux() && TryStatx(AtFdCwd, path, 0, out var stamp)) return stamp;
        var info = new FileInfo(path);
        var target = info.LinkTarget is not null ? info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info : info;
        return Portable(target.Length, target.LastWriteTimeUtc);
    }

    /// <summary>The stamp of an open file (fstat): the file read through the handle, even if its name now points elsewhere.</summary>
    public static FileStamp Of(SafeFileHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (OperatingSystem.IsLinux())
        {
            var added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                if (TryStatx((int)handle.DangerousGetHandle(), "", AtEmptyPath, out var stamp)) return stamp;
            }
            finally
            {
                if (added) handle.DangerousRelease();
            }
        }
        return Portable(RandomAccess.GetLength(handle), File.GetLastWriteTimeUtc(handle));
    }

    private static FileStamp Portable(long size, DateTime modified) =>
        new(0, 0, size, modified.Ticks / TimeSpan.TicksPerSecond, (uint)(modified.Ticks % TimeSpan.TicksPerSecond * 100));

    // struct statx: stx_ino at 0x20, stx_size 0x28, stx_mtime 0x70 (statx_timestamp: i64 sec, u32 nsec),
    // stx_dev_major 0x88, stx_dev_minor 0x8C. The layout is the same on every Linux architecture.
    private static bool TryStatx(int dirfd, string path, int flags, out FileStamp stamp)
    {
        Span<byte> b = stackalloc byte[StatxBufferBytes];
        int rc;
        unsafe
        {
            fixed (byte* p = b)
                rc = Statx(dirfd, path, flags, StatxBasicStats, p);
        }
        if (rc != 0)
        {
            stamp = default;
            return false;
        }
        var device = ((ulong)BitConverter.ToUInt32(b[0x88..]) << 32) | BitConverter.ToUInt32(b[0x8C..]);
        stamp = new FileStamp(device, BitConverter.ToUInt64(b[0x20..]), (long)BitConverter.ToUInt64(b[0x28..]),
            BitConverter.ToInt64(b[0x70..]), BitConverter.ToUInt32(b[0x78..]));
        return true;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);
}
