using System;

namespace TrainableTokens.Core.Tests.Reference;

/// <summary>
/// Where transformers rounds to the model dtype. The reference computes in double; with bfloat16 or float16 it
/// rounds at the points where torch would hold a result in that dtype (after each op), so bf16 runs land within
/// the bf16 tolerance of transformers. Float32 is not rounded: double is the better reference there.
/// </summary>
internal sealed class Precision
{
    public static readonly Precision Float32 = new("float32");
    public string Dtype { get; }
    readonly int _kind; // 0 float32 (no rounding), 1 bfloat16, 2 float16

    public Precision(string dtype)
    {
        Dtype = dtype;
        _kind = dtype switch
        {
            "float32" => 0,
            "bfloat16" => 1,
            "float16" => 2,
            _ => throw new ArgumentException($"dtype {dtype}: the reference knows float32, bfloat16 and float16", nameof(dtype)),
        };
    }

    public bool Rounds => _kind != 0;

    /// <summary>A value as the model dtype holds it.</summary>
    public double R(double x) => _kind switch { 0 => x, 1 => ToBFloat16Float(x), _ => (double)(Half)x };

    /// <summary>A value as a float32 holds it (torch computes rope tables and some scalars in float32).</summary>
    public static double F32(double x) => (float)x;

    public void RoundAll(double[] values)
    {
        if (_kind == 0) return;
        for (int i = 0; i < values.Length; i++) values[i] = R(values[i]);
    }

    /// <summary>Round to nearest even bfloat16, through float32 as torch's conversion goes.</summary>
    public static float ToBFloat16Float(double x)
    {
        float f = (float)x;
        if (float.IsNaN(f)) return f;
        uint bits = BitConverter.SingleToUInt32Bits(f);
        bits += 0x7FFFu + ((bits >> 16) & 1u);
        return BitConverter.UInt32BitsToSingle(bits & 0xFFFF0000u);
    }
}
