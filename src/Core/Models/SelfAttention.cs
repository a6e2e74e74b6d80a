using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>
/// Causal self-attention: q/k/v projection, rotary angles on q and k where the model uses them, grouped-query heads
/// repeated to the query heads, scaled dot-product attention (plain causal when no mask is needed), output projection.
/// </summary>
internal sealed class SelfAttention
{
    private readonly IQkvProjection _qkv;
    private readonly LinearSlot _output;
    private readonly int _heads, _kvHeads, _headDim;

    public SelfAttention(IQkvProjection qkv, LinearSlot output, ModelConfig c)
    {
        _qkv = qkv;
        _output = output;
        _heads = c.NumHeads;
        _kvHeads = c.NumKeyValueHeads;
        _headDim = c.HeadDim;
    }

    /// <param name="angles">Rotary angles, or null for a model without them.</param>
    /// <param name="mask">An additive mask [batch, 1, seq, seq], or null for plain causal attention.</param>
    public Tensor Forward(Tensor x, RotaryAngles? angles, Tensor? mask)
    {
        long b = x.shape[0], t = x.shape[1];
        var (qx, kx, vx) = _qkv.Project(x);
        var q = Heads(qx, _heads);
        var k = Heads(kx, _kvHeads);
        var v = Heads(vx, _kvHeads);
        if (angles is { } a)
        {
            q = a.Rotate(q);
            k = a.Rotate(k);
        }
        int groups = _heads / _kvHeads;
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, 1);
            v = v.repeat_interleave(groups, 1);
        }
        var attended = mask is null
            ? nn.functional.scaled_dot_product_attention(q, k, v, null, 0.0, true)
            : nn.functional.scaled_dot_product_attention(q, k, v, mask, 0.0, false);
        var merged = attended.transpose(1, 2).reshape(b, t, (long)_heads * _headDim);
        return _output.Layer.Forward(merged);

        Tensor Heads(Tensor projected, int heads) => projected.view(b, t, heads, _headDim).transpose(1, 2);
    }
}
