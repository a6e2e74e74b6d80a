using TrainableTokens.Core.Generation;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>One decoder layer: <c>h + post(attention(pre(h)))</c>, then <c>h + post(mlp(pre(h)))</c>, with whichever of
/// the four norms its <see cref="DecoderSpec"/> names, its own sliding window (null: full attention), and whether it
/// rotates q and k at all (SmolLM3's no-rope layers do not).</summary>
internal sealed class DecoderLayer
{
    private readonly Norm? _preAttentionNorm, _postAttentionNorm, _preMlpNorm, _postMlpNorm;
    private readonly SelfAttention _attention;
    private readonly IFeedForward _mlp;
    private readonly int? _slidingWindow;
    private readonly bool _sliding;
    private readonly bool _rotary;

    public DecoderLayer(DecoderParts parts, int index)
    {
        var spec = parts.Spec;
        var config = parts.Config;
        var path = spec.LayerPath(index);
        _preAttentionNorm = Optional(spec.PreAttentionNorm);
        _postAttentionNorm = Optional(spec.PostAttentionNorm);
        _attention = spec.Attention.Build(parts, path);
        _preMlpNorm = Optional(spec.PreMlpNorm);
        _postMlpNorm = Optional(spec.PostMlpNorm);
        _mlp = spec.Mlp.Build(parts, path);
        _slidingWindow = config.SlidingWindows.Count > index ? config.SlidingWindows[index] : null;
        _sliding = config.SlidingLayers.Count > index && config.SlidingLayers[index];
        _rotary = config.RotaryLayers.Count <= index || config.RotaryLayers[index];

        Norm? Optional(string? name) => name is null ? null : parts.Norm(path + "." + name);
    }

    public Tensor Forward(Tensor h, RopeAngles? angles, AttentionMask mask, LayerKeyValues? cache = null, long cacheStart = 0)
    {
        var rotation = _rotary && angles is { } a ? a.For(_sliding) : (RotaryAngles?)null;
        h = h + Apply(_postAttentionNorm, _attention.Forward(Apply(_preAttentionNorm, h), rotation, mask, _slidingWindow, cache, cacheStart));
        return h + Apply(_postMlpNorm, _mlp.Forward(Apply(_preMlpNorm, h)));
    }

    private static Tensor Apply(Norm? norm, Tensor x) => norm is null ? x : norm.Forward(x);
}
