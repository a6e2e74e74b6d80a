using System;

namespace TrainableTokens.Core.Tests.Reference;

/// <summary>
/// RoPE inverse frequencies and the cos/sin tables, as modeling_rope_utils.py computes them: inv_freq in float32,
/// angles inv_freq * position in float32, cos/sin times the attention factor in float32, then cast to the model
/// dtype. "dynamic" and "longrope" depend on the sequence length, as transformers' dynamic_rope_update does.
/// </summary>
internal static class NaiveRopeTables
{
    public sealed record Frequencies(double[] InvFreq, double AttentionFactor, int RotaryDim);

    /// <param name="seqLen">the longest position + 1 in this forward</param>
    public static Frequencies Compute(NaiveRope rope, int headDim, int maxPositionEmbeddings, int seqLen)
    {
        int dim = (int)(headDim * rope.PartialRotaryFactor);
        double theta = rope.Theta;
        switch (rope.Type)
        {
            case "default":
                return new(Default(theta, dim), 1.0, dim);
            case "linear":
            {
                var inv = Default(theta, dim);
                for (int i = 0; i < inv.Length; i++) inv[i] = Precision.F32(inv[i] / Factor(rope));
                return new(inv, 1.0, dim);
            }
            case "dynamic":
            {
                // At init seq_len is max_position_embeddings, which leaves the base unchanged; the forward recomputes
                // only once a sequence grows past it.
                double f = Factor(rope);
                int len = Math.Max(seqLen, maxPositionEmbeddings);
                double b = theta * Math.Pow(f * len / maxPositionEmbeddings - (f - 1), dim / (double)(dim - 2));
                return new(Default(b, dim), 1.0, dim);
            }
            case "yarn":
                return Yarn(rope, dim, maxPositionEmbeddings);
            case "longrope":
            {
                int original = rope.OriginalMaxPositionEmbeddings;
                double factor = rope.Factor ?? (double)maxPositionEmbeddings / original;
                double attention = rope.AttentionFactor ?? (factor <= 1.0 ? 1.0 : Math.Sqrt(1 + Math.Log(factor) / Math.Log(original)));
                var ext = seqLen > original ? rope.LongFactor : rope.ShortFactor;
                if (ext == null || ext.Length != dim / 2) throw new ArgumentException($"longrope needs short_factor and long_factor of {dim / 2} values");
                var inv = new double[dim / 2];
                for (int i = 0; i < inv.Length; i++)
                    inv[i] = Precision.F32(1.0 / Precision.F32(Precision.F32(ext[i]) * Precision.F32(Math.Pow(theta, Precision.F32(2.0 * i / dim)))));
                return new(inv, attention, dim);
            }
            case "llama3":
            {
                var inv = Default(theta, dim);
                double factor = Factor(rope), low = rope.LowFreqFactor, high = rope.HighFreqFactor;
                double old = rope.OriginalMaxPositionEmbeddings;
                double lowWavelen = old / low, highWavelen = old / high;
                for (int i = 0; i < inv.Length; i++)
                {
                    double wavelen = 2 * Math.PI / inv[i];
                    double scaled = wavelen > lowWavelen ? inv[i] / factor : inv[i];
                    if (!(wavelen < highWavelen) && !(wavelen > lowWavelen))
                    {
                        double smooth = (old / wavelen - low) / (high - low);
                        scaled = (1 - smooth) * scaled / factor + smooth * scaled;
                    }
                    inv[i] = Precision.F32(scaled);
                }
                return new(inv, 1.0, dim);
            }
            default:
                throw new NotSupportedException($"rope type {rope.Type}");
        }
    }

    static double Factor(NaiveRope rope) => rope.Factor ?? throw new ArgumentException($"rope type {rope.Type} needs factor");

    static double[] Default(double theta, int dim)
    {
        var inv = new double[dim / 2];
        for (int i = 0; i < inv.Length; i++) inv[i] = Precision.F32(1.0 / Precision.F32(Math.Pow(theta, Precision.F32(2.0 * i / dim))));
        return inv;
    }

    /// <summary>YaRN's mscale: 1 for a factor up to 1, else 0.1 * mscale * ln(factor) + 1.</summary>
    public static double YarnMscale(double scale, double mscale = 1) => scale <= 1 ? 1.0 : 0.1 * mscale * Math.Log(scale) + 1.0;

    static Frequencies Yarn(NaiveRope rope, int dim, int maxPositionEmbeddings)
    {
        double theta = rope.Theta;
        int original = rope.OriginalMaxPositionEmbeddings;
        // transformers 5 uses the explicit factor (it only warns when max/original disagrees); the ratio only when none is given.
        double factor = rope.Factor ?? (double)maxPositionEmbeddings / original;
        double attention = rope.AttentionFactor
            ?? (rope.Mscale is double m && m != 0 && rope.MscaleAllDim is double a && a != 0 ? YarnMscale(factor, m) / YarnMscale(factor, a) : YarnMscale(factor));
        double betaFast = rope.BetaFast is double bf && bf != 0 ? bf : 32, betaSlow = rope.BetaSlow is double bs && bs != 0 ? bs : 1;
        double CorrectionDim(double rotations) => dim * Math.Log(original / (rotations * 2 * Math.PI)) / (2 * Math.Log(theta));
        double low = CorrectionDim(betaFast), high = CorrectionDim(betaSlow);
        if (rope.Truncate) { low = Math.Floor(low); high = Math.Ceiling(high); }
        low = Math.Max(low, 0); high = Math.Min(high, dim - 1);
        if (low == high) high += 0.001;
        var inv = new double[dim / 2];
        for (int i = 0; i < inv.Length; i++)
        {
            double pos = Precision.F32(Math.Pow(theta, Precision.F32(2.0 * i / dim)));
            double extrapolation = Precision.F32(1.0 / pos), interpolation = Precision.F32(1.0 / Precision.F32(factor * pos));
            double ramp = Math.Clamp(Precision.F32((i - low) / (high - low)), 0, 1);
            double extrapolationFactor = 1 - ramp;
            inv[i] = Precision.F32(interpolation * (1 - extrapolationFactor) + extrapolation * extrapolationFactor);
        }
        return new(inv, attention, dim);
    }

    /// <summary>cos and sin per position and rotary index (half the rotary dims; the other half repeats them).</summary>
    public static (double[,] Cos, double[,] Sin) Tables(Frequencies f, int seqLen, Precision p)
    {
        int half = f.InvFreq.Length;
        var cos = new double[seqLen, half];
        var sin = new double[seqLen, half];
        for (int t = 0; t < seqLen; t++)
            for (int i = 0; i < half; i++)
            {
                double angle = Precision.F32(f.InvFreq[i] * t);
                cos[t, i] = p.R(Precision.F32(Precision.F32(Math.Cos(angle)) * f.AttentionFactor));
                sin[t, i] = p.R(Precision.F32(Precision.F32(Math.Sin(angle)) * f.AttentionFactor));
            }
        return (cos, sin);
    }
}
