using System;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>Hugging Face's dtype names ("float32", "bfloat16", "float16") and TorchSharp's scalar types.</summary>
public static class ModelDtype
{
    public static readonly string[] Names = { "float32", "bfloat16", "float16" };

    public static ScalarType Parse(string name) => name.ToLowerInvariant() switch
    {
        "float32" or "float" or "fp32" => ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        "float16" or "half" or "fp16" => ScalarType.Float16,
        _ => throw new ArgumentException($"dtype '{name}' is not supported. Use one of: {string.Join(", ", Names)}.", nameof(name)),
    };

    public static string Name(ScalarType type) => type switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        _ => type.ToString().ToLowerInvariant(),
    };
}
