using System.Collections.Generic;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>
/// Llama, Mistral, Qwen2 and Gemma: pre-norm decoder layers with rotary attention (grouped-query), RMSNorm and a
/// gated MLP. The four differ only in flags read from config.json: Qwen2's q/k/v biases, Mistral's sliding window,
/// Gemma's (1 + weight) RMSNorm, GeGLU and embeddings scaled by sqrt(hidden_size).
/// </summary>
public sealed class LlamaFamilyModel : CausalLanguageModel
{
    private const string Embedding = "model.embed_tokens.weight";
    private readonly RotaryEmbedding _rope;
    private readonly bool _gemma;

    public LlamaFamilyModel(ModelConfig config, Dictionary<string, Tensor> weights)
        : base(config, weights, Embedding, config.TieWordEmbeddings ? null : "lm_head.weight")
    {
        _gemma = config.ModelType == "gemma";
        _rope = new RotaryEmbedding(config.HeadDim, config.RopeTheta, config.RopeScaling, Device);
    }

    public static IEnumerable<WeightShape> WeightShapes(ModelConfig c)
    {
        long d = c.HiddenSize, q = (long)c.NumHeads * c.HeadDim, kv = (long)c.NumKeyValueHeads * c.HeadDim, i = c.IntermediateSize;
        var norm = c.ModelType == "gemma" ? WeightKind.NormOffset : WeightKind.NormScale;
        yield return new(Embedding, new[] { (long)c.VocabSize, d }, WeightKind.Embedding);
        for (int l = 0; l < c.NumLayers; l++)
        {
            string p = $"model.layers.{l}.";
            yield return new(p + "input_layernorm.weight", new[] { d }, norm);
            foreach (var (name, rows) in new[] { ("q_proj", q), ("k_proj", kv), ("v_proj", kv) })
            {
                yield return new(p + $"self_attn.{name}.weight", new[] { rows, d }, WeightKind.Matrix);
                if (c.QkvBias) yield return new(p + $"self_attn.{name}.bias", new[] { rows }, WeightKind.Bias);
            }
            yield return new(p + "self_attn.o_proj.weight", new[] { d, q }, WeightKind.Matrix);
            if (c.OutputBias) yield return new(p + "self_attn.o_proj.bias", new[] { d }, WeightKind.Bias);
            yield return new(p + "post_attention_layernorm.weight", new[] { d }, norm);
            foreach (var (name, shape) in new[] { ("gate_proj", new[] { i, d }), ("up_proj", new[] { i, d }), ("down_proj", new[] { d, i }) })
            {
                yield return new(p + $"mlp.{name}.weight", shape, WeightKind.Matrix);
                if (c.MlpBias) yield return new(p + $"mlp.{name}.bias", new[] { shape[0] }, WeightKind.Bias);
            }
        }
        yield return new("model.norm.weight", new[] { d }, norm);
        if (!c.TieWordEmbeddings) yield return new("lm_head.weight", new[] { (long)c.VocabSize, d }, WeightKind.Matrix);
    }

    protected override Tensor Run(Tensor ids, Tensor positions, AttentionMask mask, List<Tensor>? hidden)
    {
        var c = Config;
        var h = InputEmbedding.Embed(ids);
        // Gemma multiplies by sqrt(hidden_size) rounded to the model's dtype, exactly as Hugging Face does.
        if (_gemma) h = h * tensor(System.Math.Sqrt(c.HiddenSize), h.dtype, h.device);
        var (cos, sin) = _rope.Angles(positions, h.dtype);
        for (int l = 0; l < c.NumLayers; l++)
        {
            hidden?.Add(h);
            string p = $"model.layers.{l}.";
            h = h + Attention(Norm(h, W(p + "input_layernorm.weight")), p + "self_attn.", cos, sin, mask.For(c.SlidingWindows.Count > l ? c.SlidingWindows[l] : null));
            h = h + Mlp(Norm(h, W(p + "post_attention_layernorm.weight")), p + "mlp.");
        }
        return Norm(h, W("model.norm.weight"));
    }

    private Tensor Norm(Tensor x, Tensor weight) =>
        _gemma ? Norms.GemmaRmsNorm(x, weight, Config.NormEpsilon) : Norms.RmsNorm(x, weight, Config.NormEpsilon);

    private Tensor Attention(Tensor x, string p, Tensor cos, Tensor sin, Tensor? mask)
    {
        var c = Config;
        long b = x.shape[0], t = x.shape[1];
        var q = Heads(nn.functional.linear(x, W(p + "q_proj.weight"), OptionalW(p + "q_proj.bias")), c.NumHeads);
        var k = Heads(nn.functional.linear(x, W(p + "k_proj.weight"), OptionalW(p + "k_proj.bias")), c.NumKeyValueHeads);
        var v = Heads(nn.functional.linear(x, W(p + "v_proj.weight"), OptionalW(p + "v_proj.bias")), c.NumKeyValueHeads);
        q = RotaryEmbedding.Apply(q, cos, sin);
        k = RotaryEmbedding.Apply(k, cos, sin);
        int groups = c.NumHeads / c.NumKeyValueHeads;
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, 1);
            v = v.repeat_interleave(groups, 1);
        }
        var attended = mask is null
            ? nn.functional.scaled_dot_product_attention(q, k, v, null, 0.0, true)
            : nn.functional.scaled_dot_product_attention(q, k, v, mask, 0.0, false);
        var merged = attended.transpose(1, 2).reshape(b, t, (long)c.NumHeads * c.HeadDim);
        return nn.functional.linear(merged, W(p + "o_proj.weight"), OptionalW(p + "o_proj.bias"));

        Tensor Heads(Tensor projected, int heads) => projected.view(b, t, heads, c.HeadDim).transpose(1, 2);
    }

    private Tensor Mlp(Tensor x, string p)
    {
        var gate = nn.functional.linear(x, W(p + "gate_proj.weight"), OptionalW(p + "gate_proj.bias"));
        var up = nn.functional.linear(x, W(p + "up_proj.weight"), OptionalW(p + "up_proj.bias"));
        return nn.functional.linear(Activations.Apply(Config.HiddenActivation, gate) * up, W(p + "down_proj.weight"), OptionalW(p + "down_proj.bias"));
    }

    protected override void DisposeArchitecture() => _rope.Dispose();
}
