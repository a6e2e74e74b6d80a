using System;
using TrainableTokens.Core.Generation;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>
/// Causal self-attention: q/k/v projection, q/k norms where the model has them, rotary angles on q and k where the
/// layer uses them, grouped-query heads repeated to the query heads, scaled dot-product attention (plain causal when
/// no mask is needed), output projection. Soft-capped scores (Gemma 2) are computed explicitly, as transformers'
/// eager attention does, since the fused kernel has no soft-cap.
/// </summary>
internal sealed class SelfAttention
{
    private readonly IQkvProjection _qkv;
    private readonly LinearSlot _output;
    private readonly int _heads, _kvHeads, _headDim;
    private readonly (Norm Q, Norm K, bool PerHead)? _qkNorm;
    private readonly bool _rotateInFloat32;
    private readonly double _scale;
    private readonly double? _softcap;

    public SelfAttention(IQkvProjection qkv, LinearSlot output, ModelConfig c, (Norm Q, Norm K, bool PerHead)? qkNorm, bool rotateInFloat32)
    {
        _qkv = qkv;
        _output = output;
        _heads = c.NumHeads;
        _kvHeads = c.NumKeyValueHeads;
        _headDim = c.HeadDim;
        _qkNorm = qkNorm;
        _rotateInFloat32 = rotateInFloat32;
        _scale = 1.0 / Math.Sqrt(c.QueryPreAttentionScalar ?? c.HeadDim);
        _softcap = c.AttentionSoftcap;
    }

    /// <param name="angles">This layer's rotary angles, or null for a layer without them.</param>
    /// <param name="mask">The forward's masks; this layer takes the one for <paramref name="slidingWindow"/>.</param>
    /// <param name="cache">This layer's cache in a cached forward: the new keys are stored there and the queries attend
    /// to the held ones too (masked by position, <paramref name="mask"/> unused); null for the plain forward.</param>
    public Tensor Forward(Tensor x, RotaryAngles? angles, AttentionMask mask, int? slidingWindow, LayerKeyValues? cache = null, long cacheStart = 0)
    {
        long b = x.shape[0], t = x.shape[1];
        var (qx, kx, vx) = _qkv.Project(x);
        if (_qkNorm is { PerHead: false } whole)
        {
            qx = whole.Q.Forward(qx);
            kx = whole.K.Forward(kx);
        }
        var q = Heads(qx, _heads);
        var k = Heads(kx, _kvHeads);
        var v = Heads(vx, _kvHeads);
        if (_qkNorm is { PerHead: true } perHead)
        {
            q = perHead.Q.Forward(q);
            k = perHead.K.Forward(k);
        }
        if (angles is { } a)
        {
            if (_rotateInFloat32)
            {
                q = a.Rotate(q.to(ScalarType.Float32)).to(x.dtype);
                k = a.Rotate(k.to(ScalarType.Float32)).to(x.dtype);
            }
            else
            {
                q = a.Rotate(q);
                k = a.Rotate(k);
            }
        }
        CachedKeys? held = null;
        if (cache is not null)
        {
            held = cache.Append(k, v, cacheStart);
            (k, v) = (held.Value.Keys, held.Value.Values);
        }
        int groups = _heads / _kvHeads;
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, 1);
            v = v.repeat_interleave(groups, 1);
        }
        var attended = held is { } h ? Cached(q, k, v, h, t)
            : _softcap is { } cap ? SoftCapped(q, k, v, cap, mask.Additive(slidingWindow)) : Fused(q, k, v, mask.For(slidingWindow));
        var merged = attended.transpose(1, 2).reshape(b, t, (long)_heads * _headDim);
        return _output.Layer.Forward(merged);

        Tensor Heads(Tensor projected, int heads) => projected.view(b, t, heads, _headDim).transpose(1, 2);
    }

    /// <summary>A cached step: the same kernels as the plain forward, with the mask the held keys' positions need.</summary>
    private Tensor Cached(Tensor q, Tensor k, Tensor v, CachedKeys held, long queries)
    {
        if (_softcap is { } cap)
            return SoftCapped(q, k, v, cap, held.Mask == CachedMaskKind.None ? null : held.Additive(queries, q.dtype, q.device));
        return held.Mask switch
        {
            CachedMaskKind.Causal => Fused(q, k, v, null),
            CachedMaskKind.None => Fused(q, k, v, null, causal: false),
            _ => Fused(q, k, v, held.Additive(queries, q.dtype, q.device)),
        };
    }

    private Tensor Fused(Tensor q, Tensor k, Tensor v, Tensor? mask, bool causal = true)
    {
        // The fused kernel scales by head_dim^-0.5 and takes no other scale here: a query_pre_attn_scalar that differs
        // from head_dim (Gemma 2 27B, Gemma 3 27B) is folded into q.
        double adjust = _scale * Math.Sqrt(_headDim);
        if (adjust != 1.0) q = q * adjust;
        return mask is null
            ? nn.functional.scaled_dot_product_attention(q, k, v, null, 0.0, causal)
            : nn.functional.scaled_dot_product_attention(q, k, v, mask, 0.0, false);
    }

    /// <summary>Eager attention with Gemma 2's cap * tanh(score / cap) before the mask; softmax in float32, as transformers does.</summary>
    private Tensor SoftCapped(Tensor q, Tensor k, Tensor v, double cap, Tensor? mask)
    {
        var scores = q.matmul(k.transpose(-2, -1)) * _scale;
        scores = (scores / cap).tanh() * cap;
        if (mask is not null) scores = scores + mask;
        var weights = scores.softmax(-1, ScalarType.Float32).to(q.dtype);
        return weights.matmul(v);
    }
}
