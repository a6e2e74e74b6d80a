using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using TrainableTokens.Core.IO;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Merging;

/// <summary>One step of a whole-tensor merge, read from an adapter's safetensors file when the tensor is computed.</summary>
internal abstract record TensorStep(string AdapterFile);

/// <summary>W + scaling * B @ A, with A [r, in] and B [out, r] from the adapter file.</summary>
internal sealed record LoraStep(string AdapterFile, string KeyA, string KeyB, long Rank, double Scaling) : TensorStep(AdapterFile);

/// <summary>The tensor replaced by one the adapter saved whole (PEFT's modules_to_save, or a saved embedding layer).</summary>
internal sealed record ReplaceStep(string AdapterFile, string Key) : TensorStep(AdapterFile);

/// <summary>A stored weight tensor that a merge rewrites whole, and the steps that make its new value.</summary>
internal sealed class TensorUpdate
{
    public TensorUpdate(string modulePath, SafetensorsTensorInfo target)
    {
        ModulePath = modulePath;
        Target = target;
    }

    public string ModulePath { get; }
    public SafetensorsTensorInfo Target { get; }
    public List<TensorStep> Steps { get; } = new();
    public List<string> Adapters { get; } = new();

    public MergedTensor Describe() => new(Adapters, ModulePath, Target.Name, Target.File, Target.DType.ToString(),
        string.Join(", then ", Steps.Select(s => s switch
        {
            LoraStep l => $"+ {l.Scaling.ToString("0.####", CultureInfo.InvariantCulture)} * B @ A (rank {l.Rank})",
            ReplaceStep r => "replaced by the adapter's saved module",
            _ => s.ToString(),
        })));

    /// <summary>
    /// The merged tensor in the stored dtype, contiguous on the CPU, in the caller's dispose scope. The arithmetic is
    /// PEFT's: the delta scaling * B @ A is computed in float32 (the adapter's dtype); without <paramref name="safe"/>
    /// it is added as PEFT's in-place merge adds it (W promoted to float32, the sum cast back once); with it, as PEFT's
    /// safe_merge does (the delta cast to the weight's dtype first, then added in that dtype), and a non-finite
    /// result is refused.
    /// </summary>
    public Tensor Compute(Checkpoint source, bool safe)
    {
        var dtype = Target.DType.ToScalarType();
        var weight = source.Load(Target.Name);
        foreach (var step in Steps)
        {
            using var file = SafetensorsFile.Open(step.AdapterFile);
            switch (step)
            {
                case LoraStep lora:
                    var a = file.Load(lora.KeyA).to(ScalarType.Float32);
                    var b = file.Load(lora.KeyB).to(ScalarType.Float32);
                    var delta = b.matmul(a).mul_(lora.Scaling);
                    weight = safe ? weight.add(delta.to(dtype)) : weight.to(ScalarType.Float32).add_(delta).to(dtype);
                    break;
                case ReplaceStep replace:
                    weight = file.Load(replace.Key).to(dtype);
                    break;
            }
        }
        if (safe && !weight.isfinite().all().item<bool>())
            throw new InvalidAdapterException(
                $"Merging {string.Join(", ", Adapters)} would put NaN or infinite values into '{Target.Name}'; nothing was written. Retrain the adapter, or check its weights.",
                Steps[^1].AdapterFile);
        return weight.contiguous();
    }
}
