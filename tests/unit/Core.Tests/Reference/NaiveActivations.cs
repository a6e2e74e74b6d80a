using System;

namespace TrainableTokens.Core.Tests.Reference;

/// <summary>transformers' ACT2FN entries the supported families name, in double.</summary>
internal static class NaiveActivations
{
    public static double Apply(string name, double x) => name switch
    {
        "silu" or "swish" => x / (1 + Math.Exp(-x)),
        // gelu_pytorch_tanh, gelu_new and gelu_fast are the same tanh approximation.
        "gelu_pytorch_tanh" or "gelu_new" or "gelu_fast" => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))),
        "gelu" => 0.5 * x * (1 + Erf(x / Math.Sqrt(2))),
        "relu" => Math.Max(0, x),
        _ => throw new NotSupportedException($"activation {name}: the reference knows silu, gelu, gelu_new, gelu_pytorch_tanh, gelu_fast and relu"),
    };

    /// <summary>erf to double precision: its Maclaurin series near 0, the continued fraction of erfc beyond.</summary>
    public static double Erf(double x)
    {
        double a = Math.Abs(x);
        if (a < 2.5)
        {
            double term = a, sum = a;
            for (int k = 1; k < 100; k++)
            {
                term *= -a * a / k;
                double add = term / (2 * k + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
            }
            return Math.Sign(x) * 2 / Math.Sqrt(Math.PI) * sum;
        }
        double t = a;
        for (int k = 80; k >= 1; k--) t = a + k / 2.0 / t;
        double erfc = Math.Exp(-a * a) / (Math.Sqrt(Math.PI) * t);
        return Math.Sign(x) * (1 - erfc);
    }
}
