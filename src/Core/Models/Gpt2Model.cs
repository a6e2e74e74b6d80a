using System.Collections.Generic;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>
/// GPT-2: learned position embeddings, pre-LayerNorm blocks, and Conv1D projections whose weights are stored
/// transposed ([in, out]) compared with a linear layer.
/// </summary>
public sealed class Gpt2Model : CausalLanguageModel
{
    private const string Embedding = "transformer.wte.weight";

    public Gpt2Model(ModelConfig config, Dictionary<string, Tensor> weights)
        : base(config, weights, Embedding, config.TieWordEmbeddings ? null : "lm_head.weight")
    {
    }

    public static IEnumerable<WeightShape> WeightShapes(ModelConfig c)
    {
        long d = c.HiddenSize, i = c.IntermediateSize;
        yield return new(Embedding, new[] { (long)c.VocabSize, d }, WeightKind.Embedding);
        yield return new("transformer.wpe.weight", new[] { (long)c.MaxPositions, d }, WeightKind.Embedding);
        for (int l = 0; l < c.NumLayers; l++)
        {
            string p = $"transformer.h.{l}.";
            foreach (var norm in new[] { "ln_1", "ln_2" })
            {
                yield return new(p + norm + ".weight", new[] { d }, WeightKind.NormScale);
                yield return new(p + norm + ".bias", new[] { d }, WeightKind.Bias);
            }
            foreach (var (name, inDim, outDim) in new[] { ("attn.c_attn", d, 3 * d), ("attn.c_proj", d, d), ("mlp.c_fc", d, i), ("mlp.c_proj", i, d) })
            {
                yield return new(p + name + ".weight", new[] { inDim, outDim }, WeightKind.Matrix);
                yield return new(p + name + ".bias", new[] { outDim }, WeightKind.Bias);
            }
        }
        yield return new("transformer.ln_f.weight", new[] { d }, WeightKind.NormScale);
        yield return new("transformer.ln_f.bias", new[] { d }, WeightKind.Bias);
        if (!c.TieWordEmbeddings) yield return new("lm_head.weight", new[] { (long)c.VocabSize, d }, WeightKind.Matrix);
    }

    protected override Tensor Run(Tensor ids, Tensor positions, AttentionMask mask, List<Tensor>? hidden)
    {
        var c = Config;
        if (positions.numel() > 0 && positions.max().item<long>() >= c.MaxPositions)
            throw new System.ArgumentException($"GPT-2 has {c.MaxPositions} positions (n_positions); the input needs {positions.max().item<long>() + 1}. Shorten the input.");
        var wpe = W("transformer.wpe.weight");
        var h = InputEmbedding.Embed(ids) + wpe.index_select(0, positions.flatten()).view(positions.shape[0], positions.shape[1], wpe.shape[1]);
        var layerMask = mask.For(null);
        for (int l = 0; l < c.NumLayers; l++)
        {
            hidden?.Add(h);
            string p = $"transformer.h.{l}.";
            h = h + Attention(Norms.LayerNorm(h, W(p + "ln_1.weight"), W(p + "ln_1.bias"), c.NormEpsilon), p + "attn.", layerMask);
            var x = Norms.LayerNorm(h, W(p + "ln_2.weight"), W(p + "ln_2.bias"), c.NormEpsilon);
            h = h + Conv1D(Activations.Apply(c.HiddenActivation, Conv1D(x, p + "mlp.c_fc")), p + "mlp.c_proj");
        }
        return Norms.LayerNorm(h, W("transformer.ln_f.weight"), W("transformer.ln_f.bias"), c.NormEpsilon);
    }

    private Tensor Attention(Tensor x, string p, Tensor? mask)
    {
        var c = Config;
        long b = x.shape[0], t = x.shape[1];
        var qkv = Conv1D(x, p + "c_attn").split(c.HiddenSize, 2);
        Tensor Heads(Tensor y) => y.view(b, t, c.NumHeads, c.HeadDim).transpose(1, 2);
        var attended = mask is null
            ? nn.functional.scaled_dot_product_attention(Heads(qkv[0]), Heads(qkv[1]), Heads(qkv[2]), null, 0.0, true)
            : nn.functional.scaled_dot_product_attention(Heads(qkv[0]), Heads(qkv[1]), Heads(qkv[2]), mask, 0.0, false);
        return Conv1D(attended.transpose(1, 2).reshape(b, t, c.HiddenSize), p + "c_proj");
    }

    /// <summary>Hugging Face's Conv1D: x @ W + b with W stored [in, out].</summary>
    private Tensor Conv1D(Tensor x, string name)
    {
        var weight = W(name + ".weight");
        var flat = x.reshape(-1, x.shape[^1]);
        var y = W(name + ".bias").addmm(flat, weight);
        return y.view(x.shape[0], x.shape[1], weight.shape[1]);
    }
}
