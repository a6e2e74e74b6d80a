using System;
using System.Linq;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>
/// Rotary position embeddings as Hugging Face computes them (modeling_rope_utils.py and the models' rotary classes):
/// inverse frequencies and angles in float32, cos and sin multiplied by the type's attention factor, then cast to the
/// model dtype. With a partial rotary factor only the first <see cref="RotaryDim"/> dimensions of a head turn.
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    private readonly RopeParameters _rope;
    private readonly int _maxPositions;
    private readonly Tensor _inverseFrequencies;   // [RotaryDim / 2], float32: the frequencies of a short forward
    private readonly Tensor? _longFrequencies;     // longrope: the frequencies past the original context

    /// <param name="maxPositions">config.json's max_position_embeddings (dynamic scales past it).</param>
    public RotaryEmbedding(int headDim, RopeParameters rope, int maxPositions, Device device, double partialRotaryFactor = 1)
    {
        _rope = rope;
        _maxPositions = maxPositions;
        RotaryDim = RotaryDimOf(headDim, partialRotaryFactor);
        AttentionFactor = AttentionFactorOf(rope, maxPositions);
        using var scope = NewDisposeScope();
        _inverseFrequencies = Frequencies(rope.ShortFactor, rope.Theta, device).DetachFromDisposeScope();
        if (rope.Type == "longrope")
            _longFrequencies = Frequencies(rope.LongFactor, rope.Theta, device).DetachFromDisposeScope();
    }

    /// <summary>How many leading dimensions of a head rotate: transformers' int(head_dim * partial_rotary_factor).</summary>
    public static int RotaryDimOf(int headDim, double partialRotaryFactor) => (int)(headDim * partialRotaryFactor);

    public int RotaryDim { get; }

    /// <summary>What cos and sin are multiplied by: 1 except for yarn and longrope.</summary>
    public double AttentionFactor { get; }

    /// <summary>
    /// yarn: the given attention_factor, else 0.1 * mscale * ln(factor) + 1 (1 for factor &lt;= 1), divided by the same
    /// with mscale_all_dim when both mscale and mscale_all_dim are set (non-zero). longrope: the given attention_factor,
    /// else sqrt(1 + ln(factor) / ln(original)) (1 for factor &lt;= 1), factor defaulting to max / original positions.
    /// </summary>
    public static double AttentionFactorOf(RopeParameters rope, int maxPositions)
    {
        if (rope.AttentionFactor is { } given) return given;
        switch (rope.Type)
        {
            case "yarn":
            {
                double factor = YarnFactor(rope, maxPositions);
                static double MScale(double scale, double m) => scale <= 1 ? 1.0 : 0.1 * m * Math.Log(scale) + 1.0;
                return rope.Mscale is { } m && m != 0 && rope.MscaleAllDim is { } all && all != 0
                    ? MScale(factor, m) / MScale(factor, all)
                    : MScale(factor, 1);
            }
            case "longrope":
            {
                int original = rope.OriginalMaxPositions!.Value;
                double factor = rope.Factor ?? (double)maxPositions / original;
                return factor <= 1 ? 1.0 : Math.Sqrt(1 + Math.Log(factor) / Math.Log(original));
            }
            default:
                return 1.0;
        }
    }

    private static double YarnFactor(RopeParameters rope, int maxPositions) =>
        rope.Factor ?? (double)maxPositions / rope.OriginalMaxPositions!.Value;

    /// <summary>The float32 inverse frequencies [RotaryDim / 2] a forward uses whose largest position is <paramref name="sequenceLength"/> - 1.</summary>
    public Tensor InverseFrequencies(long sequenceLength)
    {
        switch (_rope.Type)
        {
            case "longrope":
                // transformers switches to long_factor once max(position_ids) + 1 passes the original context.
                return (sequenceLength > _rope.OriginalMaxPositions!.Value ? _longFrequencies! : _inverseFrequencies).alias();
            case "dynamic" when sequenceLength > _maxPositions:
            {
                // NTK: a larger base once the forward reaches past max_position_embeddings. transformers caches the
                // grown frequencies across calls (and resets them only for a forward shorter than the original);
                // this engine is stateless and computes them from the current forward's positions alone.
                double factor = _rope.Factor!.Value;
                double baseTheta = _rope.Theta * Math.Pow(factor * sequenceLength / _maxPositions - (factor - 1), RotaryDim / (double)(RotaryDim - 2));
                return Default(baseTheta, _inverseFrequencies.device);
            }
            default:
                return _inverseFrequencies.alias();
        }
    }

    /// <summary>The frequencies for a forward within the original context (dynamic: unscaled; longrope: short_factor).</summary>
    private Tensor Frequencies(System.Collections.Generic.IReadOnlyList<double>? longropeFactors, double theta, Device device)
    {
        // The same float32 operations in the same order as transformers, so the frequencies agree to the last bit.
        return _rope.Type switch
        {
            "linear" => Default(theta, device) / _rope.Factor!.Value,
            "llama3" => Llama3(Default(theta, device), _rope),
            "yarn" => Yarn(Powers(theta, device), _rope, RotaryDim, _maxPositions),
            "longrope" => (tensor(longropeFactors!.Select(v => (float)v).ToArray(), device: device) * Powers(theta, device)).reciprocal(),
            _ => Default(theta, device),
        };
    }

    /// <summary>theta^(2i / dim) for i below dim / 2, in float32.</summary>
    private Tensor Powers(double theta, Device device)
    {
        var exponents = arange(0, RotaryDim, 2, ScalarType.Int64, device).to(ScalarType.Float32) / RotaryDim;
        return full_like(exponents, theta).pow(exponents);
    }

    /// <summary>1 / theta^(2i / dim): the original rotary frequencies.</summary>
    private Tensor Default(double theta, Device device) => Powers(theta, device).reciprocal();

    /// <summary>Llama 3's frequency-dependent scaling: long wavelengths divided by the factor, short kept, a smooth blend between.</summary>
    private static Tensor Llama3(Tensor inv, RopeParameters s)
    {
        double factor = s.Factor!.Value, low = s.LowFreqFactor!.Value, high = s.HighFreqFactor!.Value;
        int original = s.OriginalMaxPositions!.Value;
        double lowWavelength = original / low;
        double highWavelength = original / high;
        var wavelength = inv.reciprocal() * (2 * Math.PI);
        var scaled = where(wavelength > lowWavelength, inv / factor, inv);
        var smooth = (original / wavelength - low) / (high - low);
        var smoothed = (1 - smooth) * scaled / factor + smooth * scaled;
        var medium = (wavelength < highWavelength).logical_not().logical_and((wavelength > lowWavelength).logical_not());
        return where(medium, smoothed, scaled);
    }

    /// <summary>
    /// YaRN: per frequency, a blend of the original (extrapolated) and the factor-divided (interpolated) frequency. The
    /// blend ramps linearly over the dimensions between the ones that turn beta_fast and beta_slow times over the
    /// original context: d(r) = dim * ln(original / (2 pi r)) / (2 ln theta), floored/ceiled unless truncate is false,
    /// clamped to [0, dim - 1].
    /// </summary>
    private static Tensor Yarn(Tensor powers, RopeParameters s, int dim, int maxPositions)
    {
        double factor = YarnFactor(s, maxPositions);
        double betaFast = s.BetaFast is { } bf && bf != 0 ? bf : 32;
        double betaSlow = s.BetaSlow is { } bs && bs != 0 ? bs : 1;
        int original = s.OriginalMaxPositions!.Value;
        double CorrectionDim(double rotations) => dim * Math.Log(original / (rotations * 2 * Math.PI)) / (2 * Math.Log(s.Theta));
        double low = CorrectionDim(betaFast), high = CorrectionDim(betaSlow);
        if (s.Truncate ?? true)
        {
            low = Math.Floor(low);
            high = Math.Ceiling(high);
        }
        low = Math.Max(low, 0);
        high = Math.Min(high, dim - 1);
        if (low == high) high += 0.001; // as transformers: no division by zero
        var ramp = ((arange(dim / 2, ScalarType.Float32, powers.device) - low) / (high - low)).clamp(0, 1);
        var extrapolation = 1 - ramp;
        var unscaled = powers.reciprocal();
        var interpolated = (powers * factor).reciprocal();
        return interpolated * (1 - extrapolation) + unscaled * extrapolation;
    }

    /// <summary>cos and sin of shape [batch, seq, RotaryDim] for integer <paramref name="positions"/> [batch, seq].
    /// <paramref name="positionCount"/> (the largest position plus one) comes from the host when the caller knows it, so a
    /// forward on a GPU does not wait to read it back; without it, it is read from <paramref name="positions"/>.</summary>
    public (Tensor Cos, Tensor Sin) Angles(Tensor positions, ScalarType dtype, long? positionCount = null)
    {
        using var scope = NewDisposeScope();
        bool scaledByLength = _rope.Type is "dynamic" or "longrope" && positions.numel() > 0;
        long sequenceLength = !scaledByLength ? 0 : positionCount ?? positions.max().item<long>() + 1; // sync: only direct callers without a count
        var inv = InverseFrequencies(sequenceLength).to(positions.device);
        var freqs = positions.to(ScalarType.Float32).unsqueeze(-1) * inv;
        var emb = cat(new[] { freqs, freqs }, -1);
        Tensor cos = emb.cos(), sin = emb.sin();
        if (AttentionFactor != 1)
        {
            cos = cos * AttentionFactor;
            sin = sin * AttentionFactor;
        }
        return (cos.to(dtype).MoveToOuterDisposeScope(), sin.to(dtype).MoveToOuterDisposeScope());
    }

    /// <summary>Rotates query or key heads [batch, heads, seq, headDim] by the angles from <see cref="Angles"/>; with
    /// angles narrower than the head (partial rotary) the rest of each head passes through unchanged.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        long rotary = cos.shape[^1], headDim = x.shape[^1];
        if (rotary < headDim)
        {
            var turned = Apply(x.narrow(-1, 0, rotary), cos, sin);
            return cat(new[] { turned, x.narrow(-1, rotary, headDim - rotary) }, -1);
        }
        long half = headDim / 2;
        var rotated = cat(new[] { x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half) }, -1);
        return x * cos.unsqueeze(1) + rotated * sin.unsqueeze(1);
    }

    public void Dispose()
    {
        _inverseFrequencies.Dispose();
        _longFrequencies?.Dispose();
    }
}
