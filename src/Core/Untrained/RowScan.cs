using System;
using System.Collections.Generic;
using System.Linq;
using System.IO.Hashing;
using TrainableTokens.Core.IO;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Untrained;

/// <summary>
/// Finds the untrained rows of an embedding or LM head matrix, reading it in chunks of rows (memory: one chunk and
/// a few bytes per row, never the whole matrix in float32). The rules, in this order:
/// <list type="bullet">
/// <item><b>zero</b>: every element is 0 (rows a resize or a pretraining run never touched);</item>
/// <item><b>duplicate</b>: at least <see cref="DuplicateGroupMinimum"/> non-zero rows with bit-identical values
/// (Llama 3's reserved special tokens share one row). Two tokens that learnt from different text never end up
/// bit-identical; a pair is not counted, so a row copied once on purpose (Add-TokenizerToken -InitFrom Copy) is not
/// taken for untrained;</item>
/// <item><b>near zero</b>: L2 norm below <see cref="NearZeroFraction"/> of the median norm of the rows that are
/// neither zero nor duplicate. Relative to the median, so it holds for any model's scale (Gemma's rows are small, GPT-2's
/// large); weight decay shrinks rows that never get a gradient by many orders of magnitude, trained rows stay within
/// one or two of the median.</item>
/// </list>
/// </summary>
public static class RowScan
{
    public const double NearZeroFraction = 1e-3;
    public const int DuplicateGroupMinimum = 3;

    /// <summary>The float32 working copy of one chunk stays at about this size.</summary>
    internal const long ChunkBytes = 32L << 20;

    internal static long RowsPerChunk(long dim) => Math.Max(1, ChunkBytes / Math.Max(1, dim * sizeof(float)));

    /// <summary>Scans tensor <paramref name="name"/> of a checkpoint, reading it from disk in chunks.</summary>
    public static UntrainedRowSet Scan(Checkpoint checkpoint, string name)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var info = checkpoint.Info(name);
        if (info.Shape.Length != 2)
            throw new ArgumentException($"Tensor '{name}' has shape [{string.Join(", ", info.Shape)}]; a [rows, dim] matrix is needed.", nameof(name));
        return Scan(info.Shape[0], info.Shape[1], (first, count) => checkpoint.LoadRows(name, first, count));
    }

    /// <summary>Scans a [rows, dim] tensor in memory (any device), copying one chunk at a time to the CPU.</summary>
    public static UntrainedRowSet Scan(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.dim() != 2) throw new ArgumentException("A [rows, dim] matrix is needed.", nameof(weight));
        return Scan(weight.shape[0], weight.shape[1], Reader(weight));
    }

    /// <summary>A <see cref="RowReader"/> over an in-memory [rows, dim] tensor.</summary>
    public static RowReader Reader(Tensor weight) => (first, count) => weight.detach().narrow(0, first, count);

    public static UntrainedRowSet Scan(long rows, long dim, RowReader read) => Scan(rows, dim, read, RowsPerChunk(dim));

    /// <summary>As <see cref="Scan(long, long, RowReader)"/>, with chunks of <paramref name="perChunk"/> rows (tests use small ones).</summary>
    internal static UntrainedRowSet Scan(long rows, long dim, RowReader read, long perChunk)
    {
        ArgumentNullException.ThrowIfNull(read);
        ArgumentOutOfRangeException.ThrowIfLessThan(perChunk, 1);
        if (rows < 0 || dim <= 0) throw new ArgumentOutOfRangeException(nameof(rows), $"A [{rows}, {dim}] matrix has no rows to scan.");
        var norms = new double[rows];
        // A 128-bit XXH3 hash per row: equal values give equal keys. Rows are grouped by hash and norm together, so
        // different rows would need to collide in both; XXH3 runs at memory speed where SHA-256 took a third of the scan.
        var keys = new UInt128[rows];
        using (no_grad())
        {
            for (long first = 0; first < rows; first += perChunk)
            {
                using var scope = NewDisposeScope();
                var count = Math.Min(perChunk, rows - first);
                var chunk = read(first, count).cpu().contiguous();
                if (chunk.shape.Length != 2 || chunk.shape[0] != count || chunk.shape[1] != dim)
                    throw new InvalidOperationException($"The row reader gave shape [{string.Join(", ", chunk.shape)}] for {count} rows of {dim}.");
                // Norms accumulate in float32 without a float64 copy of the chunk (the scan's main cost otherwise); a row
                // whose tiny values underflow to a zero norm is still told apart from an all-zero row.
                var wide = chunk.dtype is ScalarType.Float32 or ScalarType.Float64 ? chunk : chunk.to(ScalarType.Float32);
                var rowNorms = linalg.vector_norm(wide, 2, new long[] { 1 }).to(ScalarType.Float64).data<double>();
                var nonZero = chunk.ne(0).any(1).data<bool>();
                for (var i = 0; i < count; i++)
                    norms[first + i] = nonZero[i] ? Math.Max(rowNorms[i], double.Epsilon) : 0;
                var bytes = chunk.bytes;
                var rowBytes = (int)(bytes.Length / count);
                for (var i = 0; i < count; i++)
                {
                    keys[first + i] = XxHash128.HashToUInt128(bytes.Slice(i * rowBytes, rowBytes));
                }
            }
        }
        return Classify(dim, norms, keys);
    }

    private static UntrainedRowSet Classify(long dim, double[] norms, UInt128[] keys)
    {
        var untrained = new Dictionary<long, UntrainedRow>();
        for (long i = 0; i < norms.LongLength; i++)
            if (norms[i] == 0) untrained[i] = new UntrainedRow(i, UntrainedReason.Zero, 1);
        foreach (var group in Enumerable.Range(0, norms.Length).Where(i => norms[i] != 0).GroupBy(i => (keys[i], norms[i])))
        {
            var members = group.ToList();
            if (members.Count < DuplicateGroupMinimum) continue;
            foreach (var i in members) untrained[i] = new UntrainedRow(i, UntrainedReason.Duplicate, members.Count);
        }
        var others = Enumerable.Range(0, norms.Length).Where(i => !untrained.ContainsKey(i) && double.IsFinite(norms[i])).Select(i => norms[i]).ToArray();
        var median = Median(others);
        var limit = median * NearZeroFraction;
        for (long i = 0; i < norms.LongLength; i++)
            if (!untrained.ContainsKey(i) && norms[i] < limit) untrained[i] = new UntrainedRow(i, UntrainedReason.NearZero, 1);
        return new UntrainedRowSet(dim, norms, median, untrained);
    }

    private static double Median(double[] values)
    {
        if (values.Length == 0) return 0;
        Array.Sort(values);
        var mid = values.Length / 2;
        return values.Length % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }
}
