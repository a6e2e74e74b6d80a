using System;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>A layer's MLP: [batch, seq, hidden] to the same.</summary>
internal interface IFeedForward
{
    Tensor Forward(Tensor x);
}

internal sealed class GatedFeedForward : IFeedForward
{
    private readonly LinearSlot _gate, _up, _down;
    private readonly Func<Tensor, Tensor> _activation;

    public GatedFeedForward(LinearSlot gate, LinearSlot up, LinearSlot down, Func<Tensor, Tensor> activation) =>
        (_gate, _up, _down, _activation) = (gate, up, down, activation);

    public Tensor Forward(Tensor x)
    {
        var gate = _gate.Layer.Forward(x);
        var up = _up.Layer.Forward(x);
        return _down.Layer.Forward(_activation(gate) * up);
    }
}

/// <summary>One projection split along its output: views, no copy.</summary>
internal sealed class FusedGatedFeedForward : IFeedForward
{
    private readonly LinearSlot _gateUp, _down;
    private readonly Func<Tensor, Tensor> _activation;

    public FusedGatedFeedForward(LinearSlot gateUp, LinearSlot down, Func<Tensor, Tensor> activation) => (_gateUp, _down, _activation) = (gateUp, down, activation);

    public Tensor Forward(Tensor x)
    {
        var halves = _gateUp.Layer.Forward(x).chunk(2, -1);
        return _down.Layer.Forward(_activation(halves[0]) * halves[1]);
    }
}

internal sealed class PlainFeedForward : IFeedForward
{
    private readonly LinearSlot _up, _down;
    private readonly Func<Tensor, Tensor> _activation;

    public PlainFeedForward(LinearSlot up, LinearSlot down, Func<Tensor, Tensor> activation) => (_up, _down, _activation) = (up, down, activation);

    public Tensor Forward(Tensor x) => _down.Layer.Forward(_activation(_up.Layer.Forward(x)));
}
