using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using TrainableTokens.Core.Models;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tuners.Lora;

/// <summary>One adapter's low-rank pair on one projection: A [r, in] and B [out, r], float32 and trainable.</summary>
public sealed class LoraWeights : IDisposable
{
    public LoraWeights(string name, Tensor a, Tensor b, double scaling, double dropout)
    {
        Name = name;
        // The pair lives as long as the adapter, not as long as the dispose scope it was made in.
        A = new Parameter(a.to(ScalarType.Float32).detach().clone().DetachFromDisposeScope(), requires_grad: true);
        B = new Parameter(b.to(ScalarType.Float32).detach().clone().DetachFromDisposeScope(), requires_grad: true);
        Scaling = scaling;
        Dropout = dropout;
    }

    public string Name { get; }
    public Parameter A { get; }
    public Parameter B { get; }
    public long Rank => A.shape[0];
    public double Scaling { get; }
    public double Dropout { get; }

    /// <summary>scaling * B @ A, [out, in] float32: what merging adds to the weight.</summary>
    public Tensor Delta() => B.matmul(A).mul(Scaling);

    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
    }
}

/// <summary>
/// A torch.nn.Linear projection with LoRA adapters: <c>base(x) + scaling * (dropout(x) @ A^T) @ B^T</c> for each active
/// adapter. As in PEFT (autocast_adapter_dtype), the adapter path runs in float32 and the sum is cast back to the base
/// output's dtype. Merging adds scaling * B @ A into the weight in place; unmerging subtracts it.
/// </summary>
public sealed class LoraLinear : ILinearLayer, IDisposable
{
    private readonly Dictionary<string, LoraWeights> _adapters = new(StringComparer.Ordinal);
    private readonly List<string> _merged = new();

    public LoraLinear(ILinearLayer baseLayer)
    {
        ArgumentNullException.ThrowIfNull(baseLayer);
        if (baseLayer.FanInFanOut)
            throw new NotSupportedException($"LoRA on Conv1D layers ({baseLayer.Path}) is not supported yet.");
        Base = baseLayer;
    }

    public ILinearLayer Base { get; }
    public string Path => Base.Path;
    public Tensor Weight => Base.Weight;
    public Tensor? Bias => Base.Bias;
    public bool FanInFanOut => false;
    public long InFeatures => Base.Weight.shape[1];
    public long OutFeatures => Base.Weight.shape[0];

    public IReadOnlyDictionary<string, LoraWeights> Adapters => _adapters;
    public IReadOnlyList<string> MergedAdapters => _merged;

    /// <summary>The adapters forward adds (the model sets it). <see cref="Disabled"/> gives the base output; the model unmerges first.</summary>
    public IReadOnlyList<string> Active { get; set; } = Array.Empty<string>();
    public bool Disabled { get; set; }
    /// <summary>Dropout applies only while training, as torch's Dropout module.</summary>
    public bool Training { get; set; }

    /// <summary>Adds adapter <paramref name="name"/> of rank <paramref name="rank"/>, initialised as <paramref name="init"/> says.</summary>
    public LoraWeights Add(string name, int rank, double scaling, double dropout, LoraInit init, Generator? generator)
    {
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "A LoRA rank must be at least 1.");
        using var scope = NewDisposeScope();
        // Drawn on the CPU, where a seeded generator lives, then moved: the same seed gives the same pair everywhere.
        var a = init == LoraInit.Gaussian
            ? randn(new[] { rank, InFeatures }, ScalarType.Float32, CPU, generator: generator).div_(rank)
            : KaimingUniform(rank, InFeatures, generator);
        var b = init == LoraInit.Random ? KaimingUniform(OutFeatures, rank, generator) : zeros(new[] { OutFeatures, (long)rank }, ScalarType.Float32, CPU);
        var weights = new LoraWeights(name, a.to(Weight.device), b.to(Weight.device), scaling, dropout);
        Remove(name);
        _adapters[name] = weights;
        return weights;
    }

    /// <summary>torch.nn.Linear's default init, kaiming_uniform_ with a = sqrt(5): uniform in +-1/sqrt(fan_in).</summary>
    private static Tensor KaimingUniform(long rows, long fanIn, Generator? generator)
    {
        var bound = 1.0 / Math.Sqrt(fanIn);
        return rand(new[] { rows, fanIn }, ScalarType.Float32, CPU, generator: generator).mul_(2 * bound).sub_(bound);
    }

    public void Remove(string name)
    {
        if (_merged.Contains(name)) throw new InvalidOperationException($"Adapter '{name}' is merged into {Path}; unmerge it first.");
        if (_adapters.Remove(name, out var w)) w.Dispose();
    }

    public Tensor Forward(Tensor x)
    {
        var result = Base.Forward(x);
        if (Disabled) return result;
        var add = Active.Where(a => _adapters.ContainsKey(a) && !_merged.Contains(a)).ToList();
        if (add.Count == 0) return result;
        using var scope = NewDisposeScope();
        var dtype = result.dtype;
        var sum = result.to(ScalarType.Float32);
        var input = x.to(ScalarType.Float32);
        foreach (var name in add)
        {
            var w = _adapters[name];
            var dropped = Training && w.Dropout > 0 ? nn.functional.dropout(input, w.Dropout, training: true) : input;
            var lora = nn.functional.linear(nn.functional.linear(dropped, w.A), w.B).mul(w.Scaling);
            sum = sum + lora;
        }
        return sum.to(dtype).MoveToOuterDisposeScope();
    }

    /// <summary>Adds each named adapter's delta into the weight (PEFT's merge). With <paramref name="safe"/>, every delta is
    /// checked to be finite before the weight is touched.</summary>
    public void Merge(IReadOnlyList<string> names, bool safe)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var toMerge = names.Where(n => _adapters.ContainsKey(n) && !_merged.Contains(n)).ToList();
        if (safe)
            foreach (var name in toMerge)
                if (!Weight.to(ScalarType.Float32).add(_adapters[name].Delta()).isfinite().all().item<bool>()) // sync: a merge check, once per merge
                    throw new InvalidAdapterException(
                        $"Merging adapter '{name}' would put NaN or infinite values into {Path}; the merge was refused and the weight is unchanged.", name);
        foreach (var name in toMerge)
        {
            Weight.copy_(Weight.to(ScalarType.Float32).add_(_adapters[name].Delta()).to(Weight.dtype));
            _merged.Add(name);
        }
    }

    /// <summary>Subtracts the merged deltas again, last merged first (exact up to rounding in the weight's dtype, as PEFT).</summary>
    public void Unmerge()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (int i = _merged.Count - 1; i >= 0; i--)
            Weight.copy_(Weight.to(ScalarType.Float32).sub_(_adapters[_merged[i]].Delta()).to(Weight.dtype));
        _merged.Clear();
    }

    public void Dispose()
    {
        foreach (var w in _adapters.Values) w.Dispose();
        _adapters.Clear();
        _merged.Clear();
    }
}
