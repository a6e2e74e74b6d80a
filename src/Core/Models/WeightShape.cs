namespace TrainableTokens.Core.Models;

/// <summary>One weight an architecture expects, by Hugging Face name, with its shape and what kind of tensor it is.</summary>
public sealed record WeightShape(string Name, long[] Shape, WeightKind Kind);

/// <summary>What a weight is; the tiny-model factory initialises each kind differently.</summary>
public enum WeightKind
{
    Matrix,
    Embedding,
    Bias,
    /// <summary>A norm weight multiplied in directly (around 1).</summary>
    NormScale,
    /// <summary>Gemma's norm weight, used as (1 + weight) (around 0).</summary>
    NormOffset,
}
