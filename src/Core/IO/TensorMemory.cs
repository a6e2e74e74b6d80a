using System;
using System.IO;
using TorchSharp;

namespace TrainableTokens.Core.IO;

/// <summary>
/// Moves bytes between a contiguous CPU tensor's native memory and files without a managed copy of the whole tensor.
/// TorchSharp's <c>Tensor.bytes</c> span is limited to 2 GB, so larger tensors go through 1-D views of at most
/// <see cref="ChunkBytes"/> bytes each.
/// </summary>
internal static class TensorMemory
{
    public const long ChunkBytes = 1L << 30;

    /// <summary>A callback that receives one chunk of a tensor's memory; spans cannot be type arguments of Action.</summary>
    public delegate void ChunkAction(Span<byte> chunk, long offset);

    /// <summary>Calls <paramref name="action"/> for consecutive chunks covering all of <paramref name="tensor"/>'s bytes.</summary>
    public static void ForEachChunk(torch.Tensor tensor, ChunkAction action, long chunkBytes = ChunkBytes)
    {
        if (tensor.device_type != DeviceType.CPU || !tensor.is_contiguous())
            throw new ArgumentException("The tensor must be contiguous and on the CPU.", nameof(tensor));
        var elementSize = tensor.ElementSize;
        var count = tensor.NumberOfElements;
        if (count == 0) return;
        if (count * elementSize <= chunkBytes)
        {
            action(tensor.bytes, 0);
            return;
        }
        var perChunk = Math.Max(1, chunkBytes / elementSize);
        using var flat = tensor.view(-1);
        for (long start = 0; start < count; start += perChunk)
        {
            using var part = flat.narrow(0, start, Math.Min(perChunk, count - start));
            action(part.bytes, start * elementSize);
        }
    }

    /// <summary>Writes the tensor's bytes, in memory order, to <paramref name="stream"/>.</summary>
    public static void WriteTo(torch.Tensor tensor, Stream stream, long chunkBytes = ChunkBytes) =>
        ForEachChunk(tensor, (chunk, _) => stream.Write(chunk), chunkBytes);

    /// <summary>Fills the tensor's memory from <paramref name="length"/> bytes at <paramref name="source"/>.</summary>
    public static unsafe void CopyFrom(byte* source, long length, torch.Tensor tensor, long chunkBytes = ChunkBytes)
    {
        var expected = tensor.NumberOfElements * tensor.ElementSize;
        if (expected != length)
            throw new ArgumentException($"The tensor holds {expected} bytes, not {length}.", nameof(length));
        var start = (IntPtr)source;
        ForEachChunk(tensor, (chunk, offset) => new ReadOnlySpan<byte>((byte*)(start + (nint)offset), chunk.Length).CopyTo(chunk), chunkBytes);
    }
}
