using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Untrained;

/// <summary>The rows of one module that started from the mean of its trained rows because they were untrained.</summary>
public sealed record MeanInitialisedRows(string Module, IReadOnlyList<long> TokenIds);

/// <summary>
/// Gives an adapter's untrained rows (zero, near zero or duplicated in the base weight, see <see cref="RowScan"/>) a
/// useful start: the mean of the weight's trained rows, as Unsloth does, instead of a copy of a row that carries no
/// information (a zero row gives the new token nothing to build on; a head row of zeros gives it a logit of 0). Applies
/// to every layer of the adapter: the input embedding and, when it is trained, the untied LM head. Only the adapter's
/// values change; its originals stay the base rows, so unmerge still restores the model exactly.
/// </summary>
public static class UntrainedRowInit
{
    /// <summary>Initialises the untrained rows of adapter <paramref name="adapter"/> and says which, per module.</summary>
    public static IReadOnlyList<MeanInitialisedRows> FromMean(TrainableTokensModel tuner, string adapter)
    {
        var done = new List<MeanInitialisedRows>();
        foreach (var layer in tuner.Layers.Values.OrderBy(l => l.Path, System.StringComparer.Ordinal))
        {
            if (!layer.Adapters.TryGetValue(adapter, out var rows)) continue;
            var scan = RowScan.Scan(layer.Weight);
            var positions = Enumerable.Range(0, rows.TokenIndices.Length).Where(i => scan.IsUntrained(rows.TokenIndices[i])).ToArray();
            if (positions.Length == 0) continue;
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var mean = scan.MeanOfTrained(RowScan.Reader(layer.Weight)).to(rows.Values.device);
            var index = tensor(positions.Select(p => (long)p).ToArray(), ScalarType.Int64, rows.Values.device);
            rows.Values.index_copy_(0, index, mean.unsqueeze(0).expand(positions.Length, -1));
            done.Add(new MeanInitialisedRows(layer.Path, positions.Select(p => rows.TokenIndices[p]).Order().ToList()));
        }
        return done;
    }

    /// <summary>Every token id initialised from the mean, in any module, in order.</summary>
    public static IReadOnlyList<long> TokenIds(IReadOnlyList<MeanInitialisedRows> rows) =>
        rows.SelectMany(r => r.TokenIds).Distinct().Order().ToList();

    /// <summary>A sentence for the training result's message; empty when no row was initialised.</summary>
    public static string Describe(IReadOnlyList<MeanInitialisedRows> rows)
    {
        if (rows.Count == 0) return "";
        var parts = rows.Select(r => $"{string.Join(", ", r.TokenIds.Take(10))}{(r.TokenIds.Count > 10 ? $" and {r.TokenIds.Count - 10} more" : "")} in {r.Module}");
        return $" Untrained rows started from the mean of the trained rows: {string.Join("; ", parts)}.";
    }
}
