using System;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>Rotary position embeddings as Hugging Face computes them: frequencies and angles in float32, cos/sin cast to the model dtype.</summary>
public sealed class RotaryEmbedding : IDisposable
{
    private readonly Tensor _inverseFrequencies; // [headDim / 2], float32

    public RotaryEmbedding(int headDim, double theta, RopeScaling scaling, Device device)
    {
        using var scope = NewDisposeScope();
        var exponents = arange(0, headDim, 2, ScalarType.Int64, device).to(ScalarType.Float32) / headDim;
        var inv = full_like(exponents, theta).pow(exponents).reciprocal();
        inv = scaling.Type switch
        {
            "linear" => inv / scaling.Factor,
            "llama3" => Llama3(inv, scaling),
            _ => inv,
        };
        _inverseFrequencies = inv.DetachFromDisposeScope();
    }

    /// <summary>Llama 3's frequency-dependent scaling: long wavelengths divided by the factor, short kept, a smooth blend between.</summary>
    private static Tensor Llama3(Tensor inv, RopeScaling s)
    {
        double lowWavelength = s.OriginalMaxPositions / s.LowFreqFactor;
        double highWavelength = s.OriginalMaxPositions / s.HighFreqFactor;
        var wavelength = inv.reciprocal() * (2 * Math.PI);
        var scaled = where(wavelength > lowWavelength, inv / s.Factor, inv);
        var smooth = (s.OriginalMaxPositions / wavelength - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
        var smoothed = (1 - smooth) * scaled / s.Factor + smooth * scaled;
        var medium = (wavelength < highWavelength).logical_not().logical_and((wavelength > lowWavelength).logical_not());
        return where(medium, smoothed, scaled);
    }

    /// <summary>cos and sin of shape [batch, seq, headDim] for integer <paramref name="positions"/> [batch, seq].</summary>
    public (Tensor Cos, Tensor Sin) Angles(Tensor positions, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var freqs = positions.to(ScalarType.Float32).unsqueeze(-1) * _inverseFrequencies.to(positions.device);
        var emb = cat(new[] { freqs, freqs }, -1);
        var cos = emb.cos().to(dtype).MoveToOuterDisposeScope();
        var sin = emb.sin().to(dtype).MoveToOuterDisposeScope();
        return (cos, sin);
    }

    /// <summary>Rotates query or key heads [batch, heads, seq, headDim] by the angles from <see cref="Angles"/>.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[^1] / 2;
        var rotated = cat(new[] { x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half) }, -1);
        return x * cos.unsqueeze(1) + rotated * sin.unsqueeze(1);
    }

    public void Dispose() => _inverseFrequencies.Dispose();
}
