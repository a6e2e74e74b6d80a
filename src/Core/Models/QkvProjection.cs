using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>Projects the normed hidden state [batch, seq, hidden] to q, k and v, each [batch, seq, heads * head_dim].</summary>
internal interface IQkvProjection
{
    (Tensor Q, Tensor K, Tensor V) Project(Tensor x);
}

internal sealed class SeparateQkvProjection : IQkvProjection
{
    private readonly LinearSlot _q, _k, _v;

    public SeparateQkvProjection(LinearSlot q, LinearSlot k, LinearSlot v) => (_q, _k, _v) = (q, k, v);

    public (Tensor Q, Tensor K, Tensor V) Project(Tensor x) => (_q.Layer.Forward(x), _k.Layer.Forward(x), _v.Layer.Forward(x));
}

/// <summary>One projection split along its output into q, k and v: views, no copy.</summary>
internal sealed class FusedQkvProjection : IQkvProjection
{
    private readonly LinearSlot _qkv;
    private readonly long[] _sizes;

    public FusedQkvProjection(LinearSlot qkv, long q, long kv)
    {
        _qkv = qkv;
        _sizes = new[] { q, kv, kv };
    }

    public (Tensor Q, Tensor K, Tensor V) Project(Tensor x)
    {
        var parts = _qkv.Layer.Forward(x).split(_sizes, -1);
        return (parts[0], parts[1], parts[2]);
    }
}
