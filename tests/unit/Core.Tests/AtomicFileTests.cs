using System;
using System.IO;

namespace TrainableTokens.Core.Tests;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-atomic-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Replaces_the_file_and_leaves_no_temporary_file()
    {
        var path = Path.Combine(_dir, "a.bin");
        File.WriteAllBytes(path, new byte[] { 1, 2, 3 });
        AtomicFile.WriteAllBytes(path, new byte[] { 9, 8 });
        Assert.Equal(new byte[] { 9, 8 }, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Keeps_the_file_mode_of_the_file_it_replaces()
    {
        var path = Path.Combine(_dir, "lib.so");
        File.WriteAllBytes(path, new byte[] { 1 });
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        AtomicFile.WriteAllBytes(path, new byte[] { 2 });
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(path));
    }

    [Fact]
    public void A_failed_write_leaves_nothing_behind()
    {
        var path = Path.Combine(_dir, "missing-folder", "a.bin");
        Assert.ThrowsAny<IOException>(() => AtomicFile.WriteAllBytes(path, new byte[] { 1 }));
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void Streamed_write_replaces_the_file_and_leaves_no_temporary_file()
    {
        var path = Path.Combine(_dir, "a.bin");
        File.WriteAllBytes(path, new byte[] { 1, 2, 3 });
        AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[] { 4, 5 });
            stream.Write(new byte[] { 6 });
        });
        Assert.Equal(new byte[] { 4, 5, 6 }, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void A_streamed_write_that_fails_halfway_leaves_the_old_file_intact()
    {
        var path = Path.Combine(_dir, "a.bin");
        File.WriteAllBytes(path, new byte[] { 1, 2, 3 });
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[1 << 20]);
            throw new InvalidOperationException("failed halfway");
        }));
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_dir));
    }
}
