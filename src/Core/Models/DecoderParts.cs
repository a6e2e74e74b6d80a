using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>What the parts of a <see cref="DecoderSpec"/> are built from: the config, the weights by name and the table
/// every projection is registered in. Used only while the model is constructed.</summary>
internal sealed class DecoderParts
{
    private readonly IReadOnlyDictionary<string, Tensor> _weights;

    public DecoderParts(DecoderSpec spec, ModelConfig config, IReadOnlyDictionary<string, Tensor> weights, Device device)
    {
        Spec = spec;
        Config = config;
        _weights = weights;
        Device = device;
        Activation = Activations.Of(config.HiddenActivation);
    }

    public DecoderSpec Spec { get; }
    public ModelConfig Config { get; }
    public Device Device { get; }
    public Func<Tensor, Tensor> Activation { get; }
    public LinearLayerTable Linears { get; } = new();

    public Tensor Weight(string name) => _weights[name];

    /// <summary>The projection <paramref name="name"/> of layer <paramref name="layer"/>, registered under its module path.</summary>
    public LinearSlot Linear(string layer, string name)
    {
        var path = layer + "." + name;
        var weight = _weights[path + ".weight"];
        ILinearLayer linear = Spec.Conv1D
            ? new Conv1DLayer(path, weight, _weights[path + ".bias"])
            : new LinearLayer(path, weight, _weights.GetValueOrDefault(path + ".bias"));
        return Linears.Add(linear);
    }

    public Norm Norm(string path) =>
        new(Spec.Norm, _weights[path + ".weight"], Spec.Norm == NormKind.Layer ? _weights[path + ".bias"] : null, Config.NormEpsilon);
}
