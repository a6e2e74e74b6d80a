namespace TrainableTokens.Core.IO;

/// <summary>
/// Where one tensor lives: its file, dtype, shape and byte range. <paramref name="Begin"/> and <paramref name="End"/>
/// are absolute offsets in <paramref name="File"/> (8 + header length + the header's <c>data_offsets</c>), so a
/// caller can copy or patch the bytes without knowing the header.
/// </summary>
public sealed record SafetensorsTensorInfo(string File, string Name, SafetensorsDType DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of elements: the product of <see cref="Shape"/> (1 for a 0-dim tensor).</summary>
    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (var dim in Shape) count = checked(count * dim);
            return count;
        }
    }

    /// <summary>Bytes per element of <see cref="DType"/>.</summary>
    public int ElementSize => DType.ElementSize();

    /// <summary>Bytes of data: <c>End - Begin</c>.</summary>
    public long ByteLength => End - Begin;
}
