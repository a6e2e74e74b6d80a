using System.Collections.Generic;
using System.Linq;

namespace TrainableTokens.Core.Models;

/// <summary>
/// What one <c>model_type</c> is made of, by part and by Hugging Face module name (names are relative to a layer, e.g.
/// <c>self_attn.q_proj</c> under <c>model.layers.N</c>). <see cref="ModelArchitectures"/> holds one per model_type;
/// sizes, biases and sliding windows come from config.json. Every weight name is resolved from it once, when the model
/// is built (<see cref="CausalLanguageModel"/>) and when its weights are listed (<see cref="WeightShapes"/>).
/// </summary>
/// <remarks>
/// A layer is <c>h + post(attention(pre(h)))</c>, then <c>h + post(mlp(pre(h)))</c>, where each of the four norms is a
/// named slot that may be empty: Llama has the two pre-norms, Gemma 2 and 3 all four, OLMo 2 the two post-norms. A q/k
/// norm is a slot of <see cref="AttentionSpec"/> between projection and rotation; fused gate_up is another
/// <see cref="MlpSpec"/>; soft-caps and the attention scale come from config.json.
/// </remarks>
public sealed record DecoderSpec
{
    /// <summary>The input embedding's module, e.g. <c>model.embed_tokens</c> (PEFT's default target).</summary>
    public required string Embedding { get; init; }

    /// <summary>Multiplies the embedding output by sqrt(hidden_size) rounded to the model's dtype (Gemma).</summary>
    public bool ScaleEmbedding { get; init; }

    public required PositionSpec Positions { get; init; }

    /// <summary>The layers' module, e.g. <c>model.layers</c>: layer N is <c>model.layers.N</c>.</summary>
    public required string Layers { get; init; }

    public required NormKind Norm { get; init; }

    /// <summary>The norm before attention, e.g. <c>input_layernorm</c>; null when the layer has none (OLMo 2).</summary>
    public string? PreAttentionNorm { get; init; }

    /// <summary>The norm of the attention's output before it joins the residual (Gemma 2 and 3, OLMo 2); null for none.</summary>
    public string? PostAttentionNorm { get; init; }

    /// <summary>The norm before the MLP; Llama calls it <c>post_attention_layernorm</c>, though it comes before the MLP; null for none.</summary>
    public string? PreMlpNorm { get; init; }

    /// <summary>The norm of the MLP's output before it joins the residual (Gemma 2 and 3, OLMo 2); null for none.</summary>
    public string? PostMlpNorm { get; init; }

    public required AttentionSpec Attention { get; init; }

    public required MlpSpec Mlp { get; init; }

    public required string FinalNorm { get; init; }

    /// <summary>Projections are Hugging Face Conv1D ([in, out], always biased, as GPT-2) rather than nn.Linear.</summary>
    public bool Conv1D { get; init; }

    /// <summary>Rotate q and k in float32 and cast back, rather than in the model's dtype (OLMo 2 keeps cos/sin in float32).</summary>
    public bool RotaryInFloat32 { get; init; }

    /// <summary>
    /// Other prefixes a checkpoint may store weights under, module prefix first: a Gemma 3 hub checkpoint stores
    /// <c>model.language_model.X</c> as <c>language_model.model.X</c>. Module paths (and PEFT's keys) use the first.
    /// </summary>
    public IReadOnlyList<(string Module, string Stored)> StoredPrefixes { get; init; } = System.Array.Empty<(string, string)>();

    /// <summary>The LM head's module path.</summary>
    public string LmHead { get; init; } = "lm_head";

    /// <summary>List a layer's norms before its projections: the order New-TinyModel has always written GPT-2's
    /// weights in, so a seed keeps giving the same tiny model.</summary>
    public bool NormsFirst { get; init; }

    public string LayerPath(int layer) => $"{Layers}.{layer}";

    /// <summary>Every weight this architecture needs for <paramref name="c"/>, in Hugging Face naming and a fixed order.</summary>
    public IEnumerable<WeightShape> WeightShapes(ModelConfig c)
    {
        long d = c.HiddenSize;
        yield return new(Embedding + ".weight", new[] { (long)c.VocabSize, d }, WeightKind.Embedding);
        foreach (var w in Positions.WeightShapes(c)) yield return w;
        for (int l = 0; l < c.NumLayers; l++)
        {
            var p = LayerPath(l) + ".";
            var attentionNorms = NormShapes(p, d, PreAttentionNorm, PostAttentionNorm);
            var mlpNorms = NormShapes(p, d, PreMlpNorm, PostMlpNorm);
            var attention = Attention.Projections(c).SelectMany(x => ProjectionShapes(p, x)).Concat(Attention.NormShapes(c, p, Norm));
            var mlp = Mlp.Projections(c).SelectMany(x => ProjectionShapes(p, x));
            var ordered = NormsFirst
                ? attentionNorms.Concat(mlpNorms).Concat(attention).Concat(mlp)
                : attentionNorms.Concat(attention).Concat(mlpNorms).Concat(mlp);
            foreach (var w in ordered) yield return w;
        }
        foreach (var w in NormShapes(FinalNorm, d)) yield return w;
        if (!c.TieWordEmbeddings)
            yield return new(LmHead + ".weight", new[] { (long)c.VocabSize, d }, WeightKind.Matrix);
    }

    private IEnumerable<WeightShape> NormShapes(string layerPrefix, long dim, params string?[] names) =>
        names.Where(n => n is not null).SelectMany(n => NormShapes(layerPrefix + n, dim));

    internal IEnumerable<WeightShape> NormShapes(string path, long dim) => NormWeights(Norm, path, dim);

    internal static IEnumerable<WeightShape> NormWeights(NormKind kind, string path, long dim)
    {
        yield return new(path + ".weight", new[] { dim }, kind == NormKind.GemmaRms ? WeightKind.NormOffset : WeightKind.NormScale);
        if (kind == NormKind.Layer) yield return new(path + ".bias", new[] { dim }, WeightKind.Bias);
    }

    private IEnumerable<WeightShape> ProjectionShapes(string layerPrefix, Projection p)
    {
        var path = layerPrefix + p.Name;
        yield return new(path + ".weight", Conv1D ? new[] { p.In, p.Out } : new[] { p.Out, p.In }, WeightKind.Matrix);
        if (Conv1D || p.Bias) yield return new(path + ".bias", new[] { p.Out }, WeightKind.Bias);
    }
}

public enum NormKind
{
    /// <summary>Llama's RMSNorm: normalised in float32, scaled by the weight in the model's dtype.</summary>
    Rms,
    /// <summary>Gemma's RMSNorm: scaled by (1 + weight), all in float32.</summary>
    GemmaRms,
    /// <summary>OLMo 2's RMSNorm: normalised and scaled by the weight in float32, then cast to the model's dtype.</summary>
    RmsScaledInFloat32,
    /// <summary>LayerNorm with weight and bias (GPT-2).</summary>
    Layer,
}

/// <summary>One projection a part needs: its name within the layer, sizes, and whether config.json gives it a bias.</summary>
public sealed record Projection(string Name, long In, long Out, bool Bias);
