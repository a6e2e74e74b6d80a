using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Untrained;

/// <summary>One untrained row: its reason, and for <see cref="UntrainedReason.Duplicate"/> how many rows share its values.</summary>
public sealed record UntrainedRow(long Row, UntrainedReason Reason, int GroupSize);

/// <summary>
/// What <see cref="RowScan"/> found in one [rows, dim] matrix: every row's L2 norm, the median norm of the trained
/// rows, and the untrained rows with their reason. Holds one double per row, never the matrix.
/// </summary>
public sealed class UntrainedRowSet
{
    private readonly double[] _norms;
    private readonly Dictionary<long, UntrainedRow> _untrained;

    internal UntrainedRowSet(long dim, double[] norms, double medianNorm, Dictionary<long, UntrainedRow> untrained)
    {
        Dim = dim;
        _norms = norms;
        MedianNorm = medianNorm;
        _untrained = untrained;
        Rows = untrained.Values.OrderBy(r => r.Row).ToList();
    }

    public long RowCount => _norms.LongLength;
    public long Dim { get; }

    /// <summary>The median L2 norm of the rows that are not untrained (0 when there are none).</summary>
    public double MedianNorm { get; }

    /// <summary>The untrained rows, by row id.</summary>
    public IReadOnlyList<UntrainedRow> Rows { get; }

    public double Norm(long row) => _norms[row];

    public bool IsUntrained(long row) => _untrained.ContainsKey(row);

    public UntrainedRow? Find(long row) => _untrained.GetValueOrDefault(row);

    /// <summary>
    /// The mean of the trained rows as float32 [dim] (the caller owns it), read again in chunks and summed in float64:
    /// untrained rows are left out because zero and copied rows pull the mean towards themselves. When every row is
    /// untrained, the mean of all rows.
    /// </summary>
    public Tensor MeanOfTrained(RowReader read)
    {
        ArgumentNullException.ThrowIfNull(read);
        var trained = RowCount - _untrained.Count;
        var keepAll = trained == 0;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var sum = zeros(new[] { Dim }, ScalarType.Float64, CPU);
        var perChunk = RowScan.RowsPerChunk(Dim);
        for (long first = 0; first < RowCount; first += perChunk)
        {
            using var inner = NewDisposeScope();
            var count = Math.Min(perChunk, RowCount - first);
            var chunk = read(first, count).to(ScalarType.Float64).cpu();
            if (!keepAll)
            {
                var keep = new List<long>((int)count);
                for (long i = 0; i < count; i++)
                    if (!_untrained.ContainsKey(first + i)) keep.Add(i);
                if (keep.Count == 0) continue;
                chunk = chunk.index_select(0, tensor(keep.ToArray(), device: CPU));
            }
            sum.add_(chunk.sum(new long[] { 0 })); // not sum(0): a literal 0 would bind to the ScalarType overload
        }
        var mean = (sum / (keepAll ? RowCount : trained)).to(ScalarType.Float32);
        return mean.MoveToOuterDisposeScope();
    }
}
