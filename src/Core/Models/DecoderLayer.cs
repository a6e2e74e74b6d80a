using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>One pre-norm decoder layer: <c>h + attention(norm(h))</c>, then <c>h + mlp(norm(h))</c>, with its own
/// sliding window (null: full attention).</summary>
internal sealed class DecoderLayer
{
    private readonly Norm _preAttentionNorm;
    private readonly SelfAttention _attention;
    private readonly Norm _preMlpNorm;
    private readonly IFeedForward _mlp;
    private readonly int? _slidingWindow;

    public DecoderLayer(DecoderParts parts, int index)
    {
        var spec = parts.Spec;
        var path = spec.LayerPath(index);
        _preAttentionNorm = parts.Norm(path + "." + spec.PreAttentionNorm);
        _attention = spec.Attention.Build(parts, path);
        _preMlpNorm = parts.Norm(path + "." + spec.PreMlpNorm);
        _mlp = spec.Mlp.Build(parts, path);
        var windows = parts.Config.SlidingWindows;
        _slidingWindow = windows.Count > index ? windows[index] : null;
    }

    public Tensor Forward(Tensor h, RopeAngles? angles, AttentionMask mask)
    {
        h = h + _attention.Forward(_preAttentionNorm.Forward(h), angles?.Full, mask.For(_slidingWindow));
        return h + _mlp.Forward(_preMlpNorm.Forward(h));
    }
}
