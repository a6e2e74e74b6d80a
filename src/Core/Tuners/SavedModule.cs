using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tuners;

/// <summary>One adapter's full trainable copy of a module's weight (and bias), in the weight's dtype as PEFT's deepcopy keeps it.</summary>
public sealed class SavedCopy : IDisposable
{
    internal SavedCopy(Parameter weight, Parameter? bias, SavedCopy? tiedTo)
    {
        Weight = weight;
        Bias = bias;
        TiedTo = tiedTo;
    }

    public Parameter Weight { get; }
    public Parameter? Bias { get; }
    /// <summary>The copy this one shares its weight with (a tied LM head following the embedding's copy), or null.</summary>
    public SavedCopy? TiedTo { get; }

    public void Dispose()
    {
        // A tied copy does not own the tensor it shares.
        if (TiedTo is not null) return;
        Weight.Dispose();
        Bias?.Dispose();
    }
}

/// <summary>
/// PEFT's modules_to_save (ModulesToSaveWrapper in peft/utils/other.py) for one module: per adapter a full copy that
/// forward uses instead of the frozen weight while that adapter is active. At most one adapter with a copy here can be
/// active. Merging writes the copy into the weight (restored on unmerge) unless the weight is shared with another
/// module that does not follow the copy (a tied model without ensure_weight_tying): writing it would change that
/// module too, so forward keeps reading the copy instead.
/// </summary>
public sealed class SavedModule : IDisposable
{
    private readonly Dictionary<string, SavedCopy> _copies = new(StringComparer.Ordinal);
    private string? _merged;
    private Tensor? _original;

    public SavedModule(string path, Tensor weight, Tensor? bias, bool weightShared)
    {
        Path = path;
        Weight = weight;
        Bias = bias;
        WeightShared = weightShared;
    }

    public string Path { get; }
    public Tensor Weight { get; }
    public Tensor? Bias { get; }
    /// <summary>Whether another module uses the same weight tensor (the tied embedding and LM head).</summary>
    public bool WeightShared { get; }
    public IReadOnlyDictionary<string, SavedCopy> Copies => _copies;
    /// <summary>The adapter whose copy forward uses, or null; set by the model.</summary>
    public string? Active { get; set; }
    public bool Enabled { get; set; } = true;
    public string? Merged => _merged;

    /// <summary>Adds <paramref name="name"/>'s copy: a clone of the weight, or the weight of <paramref name="tiedTo"/>.</summary>
    public SavedCopy Add(string name, SavedCopy? tiedTo = null)
    {
        Remove(name);
        SavedCopy copy;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            copy = tiedTo is not null
                ? new SavedCopy(tiedTo.Weight, null, tiedTo)
                : new SavedCopy(new Parameter(Weight.detach().clone().DetachFromDisposeScope(), requires_grad: true),
                    Bias is null ? null : new Parameter(Bias.detach().clone().DetachFromDisposeScope(), requires_grad: true), null);
        }
        _copies[name] = copy;
        return copy;
    }

    public void Remove(string name)
    {
        if (_merged == name) throw new InvalidOperationException($"Adapter '{name}' is merged into {Path}; unmerge it first.");
        if (_copies.Remove(name, out var copy)) copy.Dispose();
        if (Active == name) Active = null;
    }

    /// <summary>The weight and bias forward uses now: the active copy, or the module's own (also once merged into it).</summary>
    public (Tensor Weight, Tensor? Bias, bool IsCopy) Current()
    {
        if (!Enabled || Active is null || !_copies.TryGetValue(Active, out var copy)) return (Weight, Bias, false);
        if (_merged == Active && Writes(copy)) return (Weight, Bias, false);
        return (copy.Weight, copy.TiedTo is null ? copy.Bias : Bias, true);
    }

    private bool Writes(SavedCopy copy) => copy.TiedTo is null && !WeightShared;

    /// <summary>Whether merging <paramref name="name"/> would write non-finite values.</summary>
    public bool IsFinite(string name) =>
        !_copies.TryGetValue(name, out var c) || (TokenIndexCheck.AllFinite(c.Weight) && (c.Bias is null || TokenIndexCheck.AllFinite(c.Bias)));

    /// <summary>Writes the copy of <paramref name="name"/> into the weight (see the class remarks for a shared weight).</summary>
    public void Merge(string name)
    {
        if (_merged is not null || !_copies.TryGetValue(name, out var copy)) return;
        if (Writes(copy))
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            _original = Weight.detach().clone().DetachFromDisposeScope();
            Weight.copy_(copy.Weight);
            if (Bias is not null && copy.Bias is not null) Bias.copy_(copy.Bias);
        }
        _merged = name;
    }

    public void Unmerge()
    {
        if (_merged is null) return;
        if (_original is not null)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            Weight.copy_(_original);
            _original.Dispose();
            _original = null;
        }
        _merged = null;
    }

    public void Dispose()
    {
        Unmerge();
        foreach (var c in _copies.Values.OrderBy(c => c.TiedTo is null ? 1 : 0)) c.Dispose();
        _copies.Clear();
    }
}
