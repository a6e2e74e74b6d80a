using System.Collections.Generic;

namespace TrainableTokens.Core.Models;

/// <summary>Self-attention's projections: q, k and v (separate or fused) and the output, named within a layer, and
/// the norms of q and k between projection and rotation where the model has them.</summary>
public sealed record AttentionSpec(QkvSpec Qkv, string Output, QkNormSpec? QkNorm = null)
{
    internal IEnumerable<WeightShape> NormShapes(ModelConfig c, string layerPrefix, NormKind kind)
    {
        if (QkNorm is not { } n) yield break;
        long q = n.PerHead ? c.HeadDim : (long)c.NumHeads * c.HeadDim;
        long k = n.PerHead ? c.HeadDim : (long)c.NumKeyValueHeads * c.HeadDim;
        foreach (var w in DecoderSpec.NormWeights(kind, layerPrefix + n.Q, q)) yield return w;
        foreach (var w in DecoderSpec.NormWeights(kind, layerPrefix + n.K, k)) yield return w;
    }

    public IEnumerable<Projection> Projections(ModelConfig c)
    {
        foreach (var p in Qkv.Projections(c)) yield return p;
        yield return new(Output, (long)c.NumHeads * c.HeadDim, c.HiddenSize, c.OutputBias);
    }

    internal SelfAttention Build(DecoderParts parts, string layer) =>
        new(Qkv.Build(parts, layer), parts.Linear(layer, Output), parts.Config,
            QkNorm is { } n ? (parts.Norm(layer + "." + n.Q), parts.Norm(layer + "." + n.K), n.PerHead) : null,
            parts.Spec.RotaryInFloat32);
}

/// <summary>
/// RMS norms of q and k (the layer's norm kind) after projection and before rotation: over each head's head_dim
/// (Qwen 3, Gemma 3) or over the whole projection (OLMo 2).
/// </summary>
public sealed record QkNormSpec(string Q, string K, bool PerHead);

/// <summary>How q, k and v are projected from the normed hidden state.</summary>
public abstract record QkvSpec
{
    public abstract IEnumerable<Projection> Projections(ModelConfig c);

    internal abstract IQkvProjection Build(DecoderParts parts, string layer);

    private protected static (long Q, long Kv) Sizes(ModelConfig c) => ((long)c.NumHeads * c.HeadDim, (long)c.NumKeyValueHeads * c.HeadDim);
}

/// <summary>Three projections (Llama's q_proj, k_proj, v_proj).</summary>
public sealed record SeparateQkv(string Q, string K, string V) : QkvSpec
{
    public override IEnumerable<Projection> Projections(ModelConfig c)
    {
        var (q, kv) = Sizes(c);
        yield return new(Q, c.HiddenSize, q, c.QkvBias);
        yield return new(K, c.HiddenSize, kv, c.QkvBias);
        yield return new(V, c.HiddenSize, kv, c.QkvBias);
    }

    internal override IQkvProjection Build(DecoderParts parts, string layer) =>
        new SeparateQkvProjection(parts.Linear(layer, Q), parts.Linear(layer, K), parts.Linear(layer, V));
}

/// <summary>One projection whose output is q, then k, then v (GPT-2's c_attn).</summary>
public sealed record FusedQkv(string Qkv) : QkvSpec
{
    public override IEnumerable<Projection> Projections(ModelConfig c)
    {
        var (q, kv) = Sizes(c);
        yield return new(Qkv, c.HiddenSize, q + 2 * kv, c.QkvBias);
    }

    internal override IQkvProjection Build(DecoderParts parts, string layer)
    {
        var (q, kv) = Sizes(parts.Config);
        return new FusedQkvProjection(parts.Linear(layer, Qkv), q, kv);
    }
}
