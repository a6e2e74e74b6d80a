using System;
using System.Linq;
using TrainableTokens.Core.Models;
using Xunit;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Models;

/// <summary>
/// The rope types' inverse frequencies and attention factors against the formulas of transformers'
/// modeling_rope_utils.py, written out here in double precision (not through the engine's code).
/// </summary>
public class RopeFrequencyTests
{
    private const int HeadDim = 16;

    private static double[] Frequencies(RopeParameters rope, int maxPositions, long sequenceLength, double partial = 1)
    {
        using var scope = NewDisposeScope();
        using var embedding = new RotaryEmbedding(HeadDim, rope, maxPositions, CPU, partial);
        return embedding.InverseFrequencies(sequenceLength).data<float>().Select(v => (double)v).ToArray();
    }

    private static void Close(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-6 * Math.Abs(expected[i]), $"frequency {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }

    /// <summary>theta^(-2i/dim), the default rope.</summary>
    private static double Plain(double theta, int i, int dim) => 1 / Math.Pow(theta, 2.0 * i / dim);

    /// <summary>YaRN by hand: d(r) = dim ln(original / (2 pi r)) / (2 ln theta); low = d(beta_fast), high = d(beta_slow),
    /// floored / ceiled when truncating, clamped to [0, dim - 1]; ramp = clamp((i - low) / (high - low), 0, 1);
    /// inv = (plain / factor) * ramp + plain * (1 - ramp).</summary>
    private static double[] YarnByHand(double theta, double factor, int original, double betaFast, double betaSlow, bool truncate, int dim = HeadDim)
    {
        double D(double r) => dim * Math.Log(original / (r * 2 * Math.PI)) / (2 * Math.Log(theta));
        double low = D(betaFast), high = D(betaSlow);
        if (truncate) (low, high) = (Math.Floor(low), Math.Ceiling(high));
        low = Math.Max(low, 0);
        high = Math.Min(high, dim - 1);
        return Enumerable.Range(0, dim / 2).Select(i =>
        {
            double ramp = Math.Clamp((i - low) / (high - low), 0, 1);
            double plain = Plain(theta, i, dim);
            return plain / factor * ramp + plain * (1 - ramp);
        }).ToArray();
    }

    private static readonly RopeParameters Yarn = new() { Type = "yarn", Theta = 10000, Factor = 4, OriginalMaxPositions = 32, BetaFast = 8, BetaSlow = 1 };

    [Fact]
    public void Yarn_blends_original_and_interpolated_frequencies_over_the_correction_range()
    {
        var actual = Frequencies(Yarn, 128, 10);
        Close(YarnByHand(10000, 4, 32, 8, 1, truncate: true), actual);
        // The range here is dims 0..2: dim 0 keeps its frequency, dim 1 is half way, dim 7 is divided by the factor.
        Assert.Equal(Plain(10000, 0, HeadDim), actual[0], 6);
        Assert.Equal(Plain(10000, 1, HeadDim) * (0.5 / 4 + 0.5), actual[1], 6);
        Assert.Equal(Plain(10000, 7, HeadDim) / 4, actual[7], 9);
    }

    [Fact]
    public void Yarn_without_truncation_uses_the_unrounded_correction_range()
    {
        var rope = Yarn with { Truncate = false, BetaFast = 2, Theta = 500 };
        var actual = Frequencies(rope, 128, 10);
        Close(YarnByHand(500, 4, 32, 2, 1, truncate: false), actual);
        Assert.NotEqual(YarnByHand(500, 4, 32, 2, 1, truncate: true)[2], actual[2], 4);
    }

    [Fact]
    public void Yarn_attention_factor_follows_mscale()
    {
        Assert.Equal(0.1 * Math.Log(4) + 1, RotaryEmbedding.AttentionFactorOf(Yarn, 128), 12);
        Assert.Equal((0.1 * 1.0 * Math.Log(4) + 1) / (0.1 * 0.5 * Math.Log(4) + 1),
            RotaryEmbedding.AttentionFactorOf(Yarn with { Mscale = 1, MscaleAllDim = 0.5 }, 128), 12);
        // mscale alone is ignored, as transformers needs both.
        Assert.Equal(0.1 * Math.Log(4) + 1, RotaryEmbedding.AttentionFactorOf(Yarn with { Mscale = 2 }, 128), 12);
        Assert.Equal(1.0, RotaryEmbedding.AttentionFactorOf(Yarn with { Factor = 1 }, 128));
        Assert.Equal(0.7, RotaryEmbedding.AttentionFactorOf(Yarn with { AttentionFactor = 0.7 }, 128));
        // No factor: max_position_embeddings / original.
        Assert.Equal(0.1 * Math.Log(256.0 / 32) + 1, RotaryEmbedding.AttentionFactorOf(Yarn with { Factor = null }, 256), 12);
    }

    private static readonly double[] Short = { 1.0, 1.0, 1.1, 1.3, 1.7, 2.2, 3.0, 4.0 };
    private static readonly double[] Long = { 1.0, 1.2, 1.6, 2.5, 4.0, 6.0, 9.0, 12.0 };
    private static readonly RopeParameters LongRope = new() { Type = "longrope", Theta = 10000, OriginalMaxPositions = 8, ShortFactor = Short, LongFactor = Long };

    [Fact]
    public void Longrope_divides_by_the_short_factors_up_to_the_original_context_and_by_the_long_ones_past_it()
    {
        double[] ByHand(double[] f) => Enumerable.Range(0, 8).Select(i => 1 / (f[i] * Math.Pow(10000, 2.0 * i / HeadDim))).ToArray();
        Close(ByHand(Short), Frequencies(LongRope, 64, sequenceLength: 8));
        Close(ByHand(Long), Frequencies(LongRope, 64, sequenceLength: 9));
        // sqrt(1 + ln(factor) / ln(original)), factor = max_position_embeddings / original when the block has none.
        Assert.Equal(Math.Sqrt(1 + Math.Log(64.0 / 8) / Math.Log(8)), RotaryEmbedding.AttentionFactorOf(LongRope, 64), 12);
        Assert.Equal(Math.Sqrt(1 + Math.Log(2.0) / Math.Log(8)), RotaryEmbedding.AttentionFactorOf(LongRope with { Factor = 2 }, 64), 12);
        Assert.Equal(1.0, RotaryEmbedding.AttentionFactorOf(LongRope, 8));
    }

    [Fact]
    public void Dynamic_raises_the_base_only_for_a_forward_past_max_position_embeddings()
    {
        var rope = new RopeParameters { Type = "dynamic", Theta = 10000, Factor = 3 };
        var plain = Enumerable.Range(0, 8).Select(i => Plain(10000, i, HeadDim)).ToArray();
        Close(plain, Frequencies(rope, 6, sequenceLength: 6));
        // base' = theta * (factor * seq / max - (factor - 1)) ^ (dim / (dim - 2)), seq = max(position) + 1 = 10.
        double scaledBase = 10000 * Math.Pow(3.0 * 10 / 6 - 2, 16.0 / 14);
        Close(Enumerable.Range(0, 8).Select(i => Plain(scaledBase, i, HeadDim)).ToArray(), Frequencies(rope, 6, sequenceLength: 10));
    }

    [Fact]
    public void Linear_divides_every_frequency_by_the_factor()
    {
        var rope = new RopeParameters { Type = "linear", Theta = 10000, Factor = 2.5 };
        Close(Enumerable.Range(0, 8).Select(i => Plain(10000, i, HeadDim) / 2.5).ToArray(), Frequencies(rope, 128, 10));
    }

    [Fact]
    public void The_attention_factor_multiplies_cos_and_sin()
    {
        using var scope = NewDisposeScope();
        using var rope = new RotaryEmbedding(HeadDim, Yarn, 128, CPU);
        var (cos, sin) = rope.Angles(tensor(new long[] { 0, 3 }, new long[] { 1, 2 }), ScalarType.Float32);
        double m = 0.1 * Math.Log(4) + 1;
        Assert.Equal(m, cos[0, 0, 0].item<float>(), 6);
        Assert.Equal(0, sin[0, 0, 5].item<float>());
        double inv0 = Plain(10000, 0, HeadDim);
        Assert.Equal(m * Math.Sin(3 * inv0), sin[0, 1, 0].item<float>(), 6);
        Assert.Equal(m * Math.Sin(3 * inv0), sin[0, 1, 8].item<float>(), 6);
    }

    [Fact]
    public void Partial_rotary_turns_the_first_dimensions_of_each_head_and_passes_the_rest_through()
    {
        using var scope = NewDisposeScope();
        var rope = RopeParameters.Default;
        using var partial = new RotaryEmbedding(HeadDim, rope, 128, CPU, partialRotaryFactor: 0.5);
        Assert.Equal(8, partial.RotaryDim);
        var positions = tensor(new long[] { 0, 1, 2, 5 }, new long[] { 1, 4 });
        var (cos, sin) = partial.Angles(positions, ScalarType.Float32);
        Assert.Equal(new long[] { 1, 4, 8 }, cos.shape);
        // The 8 rotary dims use frequencies 1 / theta^(2i/8), as a head of 8 would.
        Assert.Equal(Math.Cos(5 * Plain(10000, 1, 8)), cos[0, 3, 1].item<float>(), 6);

        var heads = randn(1, 2, 4, HeadDim, generator: new Generator(7));
        var turned = RotaryEmbedding.Apply(heads, cos, sin);
        Assert.True(turned.narrow(-1, 8, 8).equal(heads.narrow(-1, 8, 8)).all().item<bool>());
        // The first 8: x * cos + rotate_half(x) * sin over those 8 dims alone.
        var x = heads.narrow(-1, 0, 8);
        var rotated = cat(new[] { x.narrow(-1, 4, 4).neg(), x.narrow(-1, 0, 4) }, -1);
        var expected = x * cos.unsqueeze(1) + rotated * sin.unsqueeze(1);
        Assert.True(turned.narrow(-1, 0, 8).allclose(expected, rtol: 0, atol: 1e-7));
        Assert.False(turned.narrow(-1, 0, 8).allclose(x, rtol: 0, atol: 1e-3));
    }
}
