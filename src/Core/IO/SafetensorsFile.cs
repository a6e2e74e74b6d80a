using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TorchSharp;
using TrainableTokens.Core.Runtime;

namespace TrainableTokens.Core.IO;

/// <summary>
/// One safetensors file, opened for reading. <see cref="Open"/> reads and checks only the header; tensor data stays on
/// disk and is read with positional reads straight into native tensor memory when a tensor is loaded, so a multi-GB
/// checkpoint costs no managed memory. A file that shrinks or is rewritten while it is read gives an
/// <see cref="InvalidSafetensorsException"/>, never a half-read tensor. Loading is safe from several threads at once.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly FileStream _stream;
    private readonly FileStamp _opened;
    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;
    private bool _disposed;

    private SafetensorsFile(string path, FileStream stream, FileStamp opened, SafetensorsHeader header)
    {
        Path = path;
        _stream = stream;
        _opened = opened;
        DataStart = header.DataStart;
        Metadata = header.Metadata;
        Tensors = header.Tensors;
        _byName = header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The file's full path.</summary>
    public string Path { get; }

    /// <summary>Where the data section starts: 8 + header length.</summary>
    public long DataStart { get; }

    /// <summary>The header's <c>__metadata__</c> (empty when it has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Every tensor, in header order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>Opens <paramref name="path"/> and checks its header; throws <see cref="InvalidSafetensorsException"/> when it is not valid.</summary>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = System.IO.Path.GetFullPath(path);
        // FileShare.Read|Delete: other readers are fine, and an atomic replace (rename over the file) does not disturb this one.
        // A FIFO would block the open until a writer came, a device never ends: only regular files are read.
        UserFile.CheckRegular(full, "safetensors file", m => new InvalidSafetensorsException(m, full));
        var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1, FileOptions.RandomAccess);
        try
        {
            var opened = FileStamp.Of(stream.SafeFileHandle);
            var header = SafetensorsHeader.Read(full, stream.SafeFileHandle, opened.Size);
            return new SafetensorsFile(full, stream, opened, header);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Where tensor <paramref name="name"/> is; <see cref="InvalidSafetensorsException"/> when the file has no such tensor.</summary>
    public SafetensorsTensorInfo Info(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_byName.TryGetValue(name, out var info)) return info;
        throw new InvalidSafetensorsException(
            $"'{Path}' has no tensor '{name}'. It holds {Tensors.Count} tensor(s){Sample()}. Check the tensor name and that this is the right file.",
            Path);
    }

    /// <summary>Reads tensor <paramref name="name"/> into a new CPU tensor of its stored dtype and shape. The caller owns it.</summary>
    public torch.Tensor Load(string name)
    {
        var info = Info(name);
        ThrowIfDisposed();
        TorchRuntime.EnsureLoaded();
        var tensor = torch.empty(info.Shape, info.DType.ToScalarType(), torch.CPU);
        try
        {
            CopyInto(info, tensor);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads rows <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> - 1 of tensor
    /// <paramref name="name"/> (along its first dimension) into a new CPU tensor of its stored dtype, so a large matrix
    /// can be scanned in chunks without loading it whole. The caller owns the tensor.
    /// </summary>
    public torch.Tensor LoadRows(string name, long first, long count)
    {
        var info = Info(name);
        ThrowIfDisposed();
        if (info.Shape.Length == 0) throw new ArgumentException($"Tensor '{name}' in '{Path}' is a scalar; it has no rows.", nameof(name));
        var rows = info.Shape[0];
        if (first < 0 || count < 0 || first > rows - count)
            throw new ArgumentOutOfRangeException(nameof(first), $"Rows {first} to {first + count - 1} are outside tensor '{name}' ({rows} rows).");
        TorchRuntime.EnsureLoaded();
        var shape = info.Shape.ToArray();
        shape[0] = count;
        var rowBytes = rows == 0 ? 0 : info.ByteLength / rows;
        var tensor = torch.empty(shape, info.DType.ToScalarType(), torch.CPU);
        try
        {
            TensorMemory.ForEachChunk(tensor, (chunk, offset) => ReadInto(info, first * rowBytes + offset, chunk));
            CheckUnchanged(info);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>The raw little-endian bytes of tensor <paramref name="name"/>, for small tensors and tests.</summary>
    public byte[] ReadBytes(string name)
    {
        var info = Info(name);
        ThrowIfDisposed();
        if (info.ByteLength > Array.MaxLength)
            throw new InvalidOperationException($"Tensor '{name}' in '{Path}' has {info.ByteLength} bytes, too many for one array; use Load instead.");
        var bytes = new byte[info.ByteLength];
        ReadInto(info, 0, bytes);
        CheckUnchanged(info);
        return bytes;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stream.Dispose();
    }

    private void CopyInto(SafetensorsTensorInfo info, torch.Tensor tensor)
    {
        if (info.ByteLength == 0) return;
        TensorMemory.ForEachChunk(tensor, (chunk, offset) => ReadInto(info, offset, chunk));
        CheckUnchanged(info);
    }

    /// <summary>
    /// Positional reads straight into the destination, not a memory map: reading a mapped page past the end of a
    /// file that shrank raises SIGBUS, which kills the process, and no length check beforehand can rule that out.
    /// A read that meets the end of the file early is our error instead.
    /// </summary>
    private void ReadInto(SafetensorsTensorInfo info, long offset, Span<byte> destination)
    {
        var start = destination;
        var position = info.Begin + offset;
        while (!destination.IsEmpty)
        {
            var read = RandomAccess.Read(_stream.SafeFileHandle, destination, position);
            if (read <= 0) throw ChangedSinceOpened(info);
            destination = destination[read..];
            position += read;
        }
        if (info.DType == SafetensorsDType.BOOL) CheckBooleans(info, start, offset);
    }

    /// <summary>libtorch treats a bool byte other than 0 or 1 as undefined behaviour, so such a file is refused.</summary>
    private void CheckBooleans(SafetensorsTensorInfo info, ReadOnlySpan<byte> chunk, long firstElement)
    {
        var bad = chunk.IndexOfAnyExcept((byte)0, (byte)1);
        if (bad >= 0)
            throw new InvalidSafetensorsException(
                $"'{Path}' is not a valid safetensors file: BOOL tensor '{info.Name}' holds the byte {chunk[bad]} at element {firstElement + bad}; " +
                "BOOL elements must be 0 or 1. The file is damaged or was written by a faulty tool; download or export it again.", Path);
    }

    /// <summary>A file written while it was read (shrunk and grown back, or rewritten in place) may have given a mix of
    /// old and new bytes, so the tensor is refused unless the file is in the state it was opened in.</summary>
    private void CheckUnchanged(SafetensorsTensorInfo info)
    {
        var now = FileStamp.Of(_stream.SafeFileHandle);
        if (now.Size < info.End) throw ChangedSinceOpened(info, now.Size);
        if (now != _opened)
            throw new InvalidSafetensorsException(
                $"'{Path}' changed after it was opened, while tensor '{info.Name}' was read from it. " +
                "Make sure nothing else writes the file while it is read, then try again.", Path);
    }

    private InvalidSafetensorsException ChangedSinceOpened(SafetensorsTensorInfo info, long? length = null) =>
        new($"'{Path}' became shorter after it was opened: tensor '{info.Name}' needs bytes up to {info.End} but the file now has {length ?? RandomAccess.GetLength(_stream.SafeFileHandle)}. " +
            "Make sure nothing else writes the file while it is read, then open it again.", Path);

    private string Sample()
    {
        if (Tensors.Count == 0) return "";
        var shown = Tensors.Take(5).Select(t => $"'{t.Name}'");
        return ", such as " + string.Join(", ", shown);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
