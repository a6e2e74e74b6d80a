using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>One norm of the decoder with its weights, computed as <see cref="Norms"/> computes it.</summary>
internal sealed class Norm
{
    private readonly NormKind _kind;
    private readonly Tensor _weight;
    private readonly Tensor? _bias;
    private readonly double _eps;

    public Norm(NormKind kind, Tensor weight, Tensor? bias, double eps)
    {
        _kind = kind;
        _weight = weight;
        _bias = bias;
        _eps = eps;
    }

    public Tensor Forward(Tensor x) => _kind switch
    {
        NormKind.Rms => Norms.RmsNorm(x, _weight, _eps),
        NormKind.GemmaRms => Norms.GemmaRmsNorm(x, _weight, _eps),
        NormKind.RmsScaledInFloat32 => Norms.RmsNormScaledInFloat32(x, _weight, _eps),
        _ => Norms.LayerNorm(x, _weight, _bias!, _eps),
    };
}
