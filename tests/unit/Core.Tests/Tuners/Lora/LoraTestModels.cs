using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tests.Models;
using TrainableTokens.Core.Tuners.Lora;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Tuners.Lora;

/// <summary>Shared helpers: configs in code, seeded pairs set to recognisable values, exact comparisons.</summary>
internal static class LoraTestModels
{
    public static LoraConfig Config(params string[] targets) => new()
    {
        R = 4,
        LoraAlpha = 8,
        TargetModules = targets.Length == 0 ? null : targets.Length == 1 && targets[0].Contains('*') ? LoraTargets.FromString(targets[0]) : LoraTargets.List(targets),
    };

    /// <summary>Sets every A and B of <paramref name="name"/> to seeded normal values, as if trained (B is not zero).</summary>
    public static void Randomize(LoraModel tuner, string name = "default", int seed = 7)
    {
        using var noGrad = no_grad();
        var generator = new Generator((ulong)seed);
        foreach (var p in tuner.TrainableParameters(name))
            p.copy_(randn(p.shape, generator: generator).mul_(0.1));
    }

    public static Tensor Ids() => TinyModels.Ids(new long[] { 3, 5, 9, 6, 11, 5 }, new long[] { 1, 2, 40, 7, 8, 9 });

    public static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    public static CausalLanguageModel Build(string type, int seed = 0, ScalarType dtype = ScalarType.Float32) =>
        TinyModels.Build(new TinyModelSpec { ModelType = type, Seed = seed }, dtype);

    /// <summary>A Llama whose LM head is (or is not) the embedding tensor itself.</summary>
    public static CausalLanguageModel Llama(bool tied, int seed = 0) =>
        TinyModels.Build(new TinyModelSpec { ModelType = "llama", Seed = seed, TieWordEmbeddings = tied });

    /// <summary>LoRA on q_proj and v_proj with trainable token rows as a list (the input embedding).</summary>
    public static LoraConfig WithTokens(params long[] ids) => Config("q_proj", "v_proj") with { TrainableTokenIndices = ids };

    /// <summary>LoRA on q_proj and v_proj with trainable token rows as a map of module name to ids.</summary>
    public static LoraConfig WithTokenMap(params (string Module, long[] Ids)[] map) =>
        Config("q_proj", "v_proj") with
        {
            TrainableTokenIndicesByModule = map.Select(m => new KeyValuePair<string, IReadOnlyList<long>>(m.Module, m.Ids)).ToList(),
        };

    /// <summary>
    /// The reference for a trained adapter, computed from raw tensors on a second copy of the base model: each targeted
    /// weight W becomes W + scaling * B @ A, and each token layer's rows are overwritten with the adapter's values
    /// (a tied head shares the embedding tensor, so it sees them too).
    /// </summary>
    public static void ApplyByHand(LoraModel tuner, CausalLanguageModel reference, string name = "default")
    {
        using var noGrad = no_grad();
        foreach (var layer in tuner.Layers.Values.Where(l => l.Adapters.ContainsKey(name)))
        {
            var w = layer.Adapters[name];
            reference.Weights[layer.Path + ".weight"].add_(w.B.detach().matmul(w.A.detach()).mul(w.Scaling));
        }
        foreach (var layer in tuner.Tokens.Layers.Values.Where(l => l.Adapters.ContainsKey(name)))
        {
            var rows = layer.Adapters[name];
            var target = layer.Path == "lm_head" ? reference.Head.Weight : reference.InputEmbedding.Weight;
            target.index_copy_(0, rows.Index, rows.Values.detach().to(target.dtype));
        }
    }
}
