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
/// Each layer is pre-norm today: <c>h + attention(norm(h))</c>, then <c>h + mlp(norm(h))</c>. Post-norms (Gemma 2's four
/// norms, OLMo 2's two) are further named norm slots beside these; a q/k norm is a slot of <see cref="AttentionSpec"/>
/// between projection and rotation; fused gate_up is another <see cref="MlpSpec"/>; a logit soft-cap wraps the head.
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

    /// <summary>The norm before attention, e.g. <c>input_layernorm</c>.</summary>
    public required string PreAttentionNorm { get; init; }

    /// <summary>The norm before the MLP; Llama calls it <c>post_attention_layernorm</c>, though it comes before the MLP.</summary>
    public required string PreMlpNorm { get; init; }

    public required AttentionSpec Attention { get; init; }

    public required MlpSpec Mlp { get; init; }

    public required string FinalNorm { get; init; }

    /// <summary>Projections are Hugging Face Conv1D ([in, out], always biased, as GPT-2) rather than nn.Linear.</summary>
    public bool Conv1D { get; init; }

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
            var attentionNorm = NormShapes(p + PreAttentionNorm, d);
            var mlpNorm = NormShapes(p + PreMlpNorm, d);
            var attention = Attention.Projections(c).SelectMany(x => ProjectionShapes(p, x));
            var mlp = Mlp.Projections(c).SelectMany(x => ProjectionShapes(p, x));
            var ordered = NormsFirst
                ? attentionNorm.Concat(mlpNorm).Concat(attention).Concat(mlp)
                : attentionNorm.Concat(attention).Concat(mlpNorm).Concat(mlp);
            foreach (var w in ordered) yield return w;
        }
        foreach (var w in NormShapes(FinalNorm, d)) yield return w;
        if (!c.TieWordEmbeddings)
            yield return new(ModelArchitectures.LmHeadPath(c.ModelType) + ".weight", new[] { (long)c.VocabSize, d }, WeightKind.Matrix);
    }

    private IEnumerable<WeightShape> NormShapes(string path, long dim)
    {
        yield return new(path + ".weight", new[] { dim }, Norm == NormKind.GemmaRms ? WeightKind.NormOffset : WeightKind.NormScale);
        if (Norm == NormKind.Layer) yield return new(path + ".bias", new[] { dim }, WeightKind.Bias);
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
    /// <summary>LayerNorm with weight and bias (GPT-2).</summary>
    Layer,
}

/// <summary>One projection a part needs: its name within the layer, sizes, and whether config.json gives it a bias.</summary>
public sealed record Projection(string Name, long In, long Out, bool Bias);
