using System;
using System.Linq;
using TrainableTokens.Core.Models;

namespace TrainableTokens.Core.Generation;

/// <summary>
/// The keys and values a <see cref="CausalLanguageModel"/> has computed for the positions seen so far, one
/// <see cref="LayerKeyValues"/> per decoder layer, so that <see cref="CausalLanguageModel.ForwardWithCache"/> runs only
/// the new positions. Native memory, owned here and outside every dispose scope: dispose the cache when done.
/// </summary>
public sealed class KeyValueCache : IDisposable
{
    private readonly LayerKeyValues[] _layers;
    private bool _faulted;

    /// <param name="capacityHint">The positions expected in all (prompt plus new tokens): buffers start that large
    /// (a sliding layer at most twice its window) and double when passed.</param>
    public KeyValueCache(CausalLanguageModel model, long capacityHint = 256)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        var windows = model.Config.SlidingWindows;
        _layers = Enumerable.Range(0, model.Config.NumLayers)
            .Select(l => new LayerKeyValues(windows.Count > l ? windows[l] : null, Math.Max(1, capacityHint)))
            .ToArray();
    }

    /// <summary>The model the cache belongs to; another model's forward refuses it.</summary>
    public CausalLanguageModel Model { get; }

    /// <summary>The positions seen so far: the next token's position.</summary>
    public long Length { get; private set; }

    /// <summary>The batch size of the first forward; later forwards must match it.</summary>
    public long? Batch { get; private set; }

    /// <summary>The positions held by each layer (a sliding layer holds about its window, not <see cref="Length"/>).</summary>
    public long[] HeldPositions => _layers.Select(l => l.Count).ToArray();

    internal LayerKeyValues Layer(int index) => _layers[index];

    /// <summary>Checked before a cached forward: same model, same batch, not broken by an earlier failed forward.</summary>
    internal void Begin(CausalLanguageModel model, long batch)
    {
        if (!ReferenceEquals(model, Model))
            throw new ArgumentException("This cache belongs to another model; create one per model.", nameof(model));
        if (_faulted)
            throw new InvalidOperationException("An earlier forward with this cache failed part-way, so its keys are incomplete; start a new cache.");
        if (Batch is { } b && b != batch)
            throw new ArgumentException($"This cache holds a batch of {b}; the input has {batch}.", nameof(batch));
        Batch = batch;
        _faulted = true; // cleared by End; a forward that throws in between leaves the cache unusable
    }

    internal void End(long newPositions)
    {
        Length += newPositions;
        _faulted = false;
    }

    public void Dispose()
    {
        foreach (var l in _layers) l.Dispose();
        GC.SuppressFinalize(this);
    }
}
