using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tuners.TrainableTokens;

/// <summary>
/// The adapters of one targeted weight (the input embedding, or an untied LM head): their rows, and merging them
/// into the weight and back. A tied LM head has no layer of its own; it reads the embedding's.
/// </summary>
public sealed class TrainableTokensLayer : IDisposable
{
    private readonly Dictionary<string, AdapterRows> _adapters = new(StringComparer.Ordinal);
    private readonly List<string> _merged = new();

    public TrainableTokensLayer(string path, Tensor weight)
    {
        Path = path;
        Weight = weight;
    }

    /// <summary>The module path, e.g. <c>model.embed_tokens</c>: the adapter file's key is base_model.model.{Path}.trainable_tokens_delta.</summary>
    public string Path { get; }

    /// <summary>The frozen weight [vocab, hidden] the rows belong to; merging writes into it.</summary>
    public Tensor Weight { get; }

    public IReadOnlyDictionary<string, AdapterRows> Adapters => _adapters;
    public IReadOnlyList<string> MergedAdapters => _merged;
    public bool IsMerged => _merged.Count > 0;

    /// <summary>Adds an adapter: rows copied from the weight (<paramref name="initWeights"/>), or standard-normal rows in the
    /// weight's dtype. Either way "original" holds the weight's real rows, so unmerge restores the model (PEFT's fix of
    /// its issue #3650: before it, random starts were kept as originals and unmerge wrote them into the weight).</summary>
    public AdapterRows Add(string name, long[] tokenIndices, bool initWeights, Generator? generator)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var index = tensor(tokenIndices, ScalarType.Int64, Weight.device);
        var originals = Weight.index_select(0, index);
        var values = initWeights
            ? originals
            // Drawn on the CPU, where the seeded generator lives (a CPU generator cannot drive a CUDA randn), then moved:
            // the same seed gives the same rows on every device.
            : randn(new[] { (long)tokenIndices.Length, Weight.shape[1] }, Weight.dtype, CPU, generator: generator).to(Weight.device);
        var rows = new AdapterRows(name, tokenIndices, values, originals);
        Remove(name);
        _adapters[name] = rows;
        return rows;
    }

    public void Remove(string name)
    {
        if (_adapters.Remove(name, out var rows)) rows.Dispose();
        _merged.Remove(name);
    }

    /// <summary>The rows that forward substitutes for <paramref name="active"/> adapters, sorted by token id for a binary
    /// search; null when there is nothing to substitute (no adapter, or merged: the weight already holds them).</summary>
    public (Tensor SortedIds, Tensor SortedRows)? ActiveRows(IReadOnlyList<string> active)
    {
        if (IsMerged) return null;
        var present = active.Where(_adapters.ContainsKey).Select(a => _adapters[a]).ToList();
        if (present.Count == 0) return null;
        var ids = present.Count == 1 ? present[0].Index : cat(present.Select(p => p.Index).ToArray());
        var rows = present.Count == 1 ? (Tensor)present[0].Values : cat(present.Select(p => (Tensor)p.Values).ToArray());
        var (sorted, order) = ids.sort();
        return (sorted, rows.index_select(0, order));
    }

    /// <summary>Writes the adapters' rows into the weight (in order, as PEFT does). With <paramref name="safe"/>, refuses
    /// rows that are not finite before anything is written.</summary>
    public void Merge(IReadOnlyList<string> names, bool safe)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var toMerge = names.Where(n => _adapters.ContainsKey(n) && !_merged.Contains(n)).ToList();
        if (safe)
        {
            foreach (var name in toMerge)
                if (!TokenIndexCheck.AllFinite(_adapters[name].Values))
                    throw new InvalidAdapterException(
                        $"Adapter '{name}' has NaN or infinite values for {Path}; the merge was refused and the weight is unchanged. The adapter seems broken: retrain it.", name);
        }
        foreach (var name in toMerge)
        {
            var rows = _adapters[name];
            Weight.index_copy_(0, rows.Index, rows.Values.to(Weight.dtype));
            _merged.Add(name);
        }
    }

    /// <summary>Restores the original rows of every merged adapter, last merged first, bit for bit.</summary>
    public void Unmerge()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (int i = _merged.Count - 1; i >= 0; i--)
        {
            var rows = _adapters[_merged[i]];
            Weight.index_copy_(0, rows.Index, rows.Originals.to(Weight.dtype));
        }
        _merged.Clear();
    }

    public void Dispose()
    {
        foreach (var rows in _adapters.Values) rows.Dispose();
        _adapters.Clear();
    }
}
