using System;
using System.Collections;
using System.Collections.Generic;

namespace TrainableTokens.Core.Models;

/// <summary>
/// The model's projections by module path, in model order. A tuner replaces one by assigning a wrapper to its path
/// (and restores it by assigning the base back); the decoder reads each through its slot on every forward, so the
/// replacement takes effect at once and nothing is looked up by name inside the forward.
/// </summary>
public sealed class LinearLayerTable : IReadOnlyCollection<ILinearLayer>
{
    private readonly Dictionary<string, LinearSlot> _byPath = new(StringComparer.Ordinal);
    private readonly List<LinearSlot> _ordered = new();

    public int Count => _ordered.Count;

    public IEnumerable<string> Paths
    {
        get
        {
            foreach (var slot in _ordered) yield return slot.Layer.Path;
        }
    }

    public bool Contains(string path) => _byPath.ContainsKey(path);

    /// <summary>The layer now at <paramref name="path"/> (a wrapper, if a tuner put one there).</summary>
    public ILinearLayer this[string path]
    {
        get => SlotOf(path).Layer;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Path != path)
                throw new ArgumentException($"A layer for '{path}' must have that path; this one has '{value.Path}'.", nameof(value));
            SlotOf(path).Layer = value;
        }
    }

    internal LinearSlot Add(ILinearLayer layer)
    {
        var slot = new LinearSlot(layer);
        _byPath.Add(layer.Path, slot);
        _ordered.Add(slot);
        return slot;
    }

    private LinearSlot SlotOf(string path) =>
        _byPath.TryGetValue(path, out var slot)
            ? slot
            : throw new ArgumentException($"The model has no linear layer '{path}'. Its first is '{(_ordered.Count > 0 ? _ordered[0].Layer.Path : "none")}'.", nameof(path));

    public IEnumerator<ILinearLayer> GetEnumerator()
    {
        foreach (var slot in _ordered) yield return slot.Layer;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Where a decoder part reads one projection from; <see cref="LinearLayerTable"/> swaps what it holds.</summary>
internal sealed class LinearSlot
{
    public LinearSlot(ILinearLayer layer) => Layer = layer;

    public ILinearLayer Layer { get; set; }
}
