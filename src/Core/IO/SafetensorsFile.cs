using System;
using System.Collections.Generic;
using System.IO;
using System.IO.MemoryMappedFiles;
using System.Linq;
using TorchSharp;
using TrainableTokens.Core.Runtime;

namespace TrainableTokens.Core.IO;

/// <summary>
/// One safetensors file, opened for reading. <see cref="Open"/> reads and checks only the header; tensor data stays on
/// disk and is copied from a read-only memory map straight into native tensor memory when a tensor is loaded, so a
/// multi-GB checkpoint costs no managed memory. Loading is safe from several threads at once.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly FileStream _stream;
    private readonly MemoryMappedFile _map;
    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;
    private bool _disposed;

    private SafetensorsFile(string path, FileStream stream, MemoryMappedFile map, SafetensorsHeader header)
    {
        Path = path;
        _stream = stream;
        _map = map;
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
        var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1, FileOptions.RandomAccess);
        try
        {
            var length = stream.Length;
            var header = SafetensorsHeader.Read(full, stream.SafeFileHandle, length);
            var map = MemoryMappedFile.CreateFromFile(stream, mapName: null, capacity: 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
            return new SafetensorsFile(full, stream, map, header);
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
        var tensor = torch.empty(info.Shape, info.DType.ToScalarType());
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

    /// <summary>The raw little-endian bytes of tensor <paramref name="name"/>, for small tensors and tests.</summary>
    public byte[] ReadBytes(string name)
    {
        var info = Info(name);
        ThrowIfDisposed();
        if (info.ByteLength > Array.MaxLength)
            throw new InvalidOperationException($"Tensor '{name}' in '{Path}' has {info.ByteLength} bytes, too many for one array; use Load instead.");
        CheckStillComplete(info);
        var bytes = new byte[info.ByteLength];
        var span = bytes.AsSpan();
        var offset = info.Begin;
        while (!span.IsEmpty)
        {
            var read = RandomAccess.Read(_stream.SafeFileHandle, span, offset);
            if (read <= 0) throw ChangedSinceOpened(info);
            span = span[read..];
            offset += read;
        }
        return bytes;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _map.Dispose();
        _stream.Dispose();
    }

    /// <summary>Bytes mapped at a time. A view's pages count as resident while it lives, so mapping a whole tensor
    /// would hold a second copy of the largest tensor at the peak; 64 MiB windows keep that overhead small.</summary>
    internal const long WindowBytes = 64L << 20;

    private void CopyInto(SafetensorsTensorInfo info, torch.Tensor tensor)
    {
        if (info.ByteLength == 0) return;
        CheckStillComplete(info);
        TensorMemory.ForEachChunk(tensor, (chunk, offset) => CopyWindow(info, offset, chunk), WindowBytes);
    }

    private unsafe void CopyWindow(SafetensorsTensorInfo info, long offset, Span<byte> destination)
    {
        using var view = _map.CreateViewAccessor(info.Begin + offset, destination.Length, MemoryMappedFileAccess.Read);
        var handle = view.SafeMemoryMappedViewHandle;
        byte* start = null;
        handle.AcquirePointer(ref start);
        try
        {
            var source = start + view.PointerOffset;
            if (info.DType == SafetensorsDType.BOOL) CheckBooleans(info, source, destination.Length, offset);
            new ReadOnlySpan<byte>(source, destination.Length).CopyTo(destination);
        }
        finally
        {
            handle.ReleasePointer();
        }
    }

    /// <summary>libtorch treats a bool byte other than 0 or 1 as undefined behaviour, so such a file is refused.</summary>
    private unsafe void CheckBooleans(SafetensorsTensorInfo info, byte* source, int length, long firstElement)
    {
        var chunk = new ReadOnlySpan<byte>(source, length);
        var bad = chunk.IndexOfAnyExcept((byte)0, (byte)1);
        if (bad >= 0)
            throw new InvalidSafetensorsException(
                $"'{Path}' is not a valid safetensors file: BOOL tensor '{info.Name}' holds the byte {chunk[bad]} at element {firstElement + bad}; " +
                "BOOL elements must be 0 or 1. The file is damaged or was written by a faulty tool; download or export it again.", Path);
    }

    /// <summary>Reading a mapped page past the end of a file that shrank would kill the process; check the length first.</summary>
    private void CheckStillComplete(SafetensorsTensorInfo info)
    {
        if (_stream.Length < info.End) throw ChangedSinceOpened(info);
    }

    private InvalidSafetensorsException ChangedSinceOpened(SafetensorsTensorInfo info) =>
        new($"'{Path}' became shorter after it was opened: tensor '{info.Name}' needs bytes up to {info.End} but the file now has {_stream.Length}. " +
            "Make sure nothing else writes the file while it is read, then open it again.", Path);

    private string Sample()
    {
        if (Tensors.Count == 0) return "";
        var shown = Tensors.Take(5).Select(t => $"'{t.Name}'");
        return ", such as " + string.Join(", ", shown);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
