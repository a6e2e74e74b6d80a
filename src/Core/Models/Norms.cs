using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>Normalisations computed the way Hugging Face computes them, casts included, so outputs match bit for bit in float32.</summary>
public static class Norms
{
    /// <summary>Llama-family RMSNorm: normalise in float32, cast back, then scale by the weight in the model's dtype.</summary>
    public static Tensor RmsNorm(Tensor x, Tensor weight, double eps)
    {
        var dtype = x.dtype;
        var x32 = x.to(ScalarType.Float32);
        var variance = x32.pow(2).mean(new long[] { -1 }, keepdim: true);
        return weight * (x32 * (variance + eps).rsqrt()).to(dtype);
    }

    /// <summary>Gemma's RMSNorm: scales by (1 + weight), all in float32, then casts back.</summary>
    public static Tensor GemmaRmsNorm(Tensor x, Tensor weight, double eps)
    {
        var x32 = x.to(ScalarType.Float32);
        var normed = x32 * (x32.pow(2).mean(new long[] { -1 }, keepdim: true) + eps).rsqrt();
        return (normed * (weight.to(ScalarType.Float32) + 1.0)).to(x.dtype);
    }

    /// <summary>OLMo 2's RMSNorm: normalise and scale by the weight in float32, then cast back (Llama casts before scaling).</summary>
    public static Tensor RmsNormScaledInFloat32(Tensor x, Tensor weight, double eps)
    {
        var x32 = x.to(ScalarType.Float32);
        var normed = x32 * (x32.pow(2).mean(new long[] { -1 }, keepdim: true) + eps).rsqrt();
        return (weight.to(ScalarType.Float32) * normed).to(x.dtype);
    }

    public static Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, double eps) =>
        nn.functional.layer_norm(x, new[] { x.shape[^1] }, weight, bias, eps);
}
