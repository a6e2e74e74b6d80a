using System;
using System.Collections.Generic;
using System.Globalization;

namespace TrainableTokens.Core.Scoring;

/// <summary>
/// The loss of a model (with its adapters, or none) on a dataset: the mean next-token cross-entropy over every token
/// that has a label, tokenised and masked as training does (prompts and the first token of each example carry none).
/// For the same data and max_seq_length it equals the trainer's eval_loss.
/// </summary>
public sealed record DatasetScore
{
    public required string Model { get; init; }
    /// <summary>The adapter folders active while scoring; empty for the base model.</summary>
    public required IReadOnlyList<string> Adapters { get; init; }
    public required string Dataset { get; init; }
    /// <summary>Examples after tokenisation (records that tokenise to nothing are left out).</summary>
    public required int Sequences { get; init; }
    /// <summary>Tokens the loss is the mean over.</summary>
    public required long ScoredTokens { get; init; }
    public required double Loss { get; init; }
    public double Perplexity => Math.Exp(Loss);
    public required int MaxSeqLength { get; init; }
    public required int BatchSize { get; init; }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"loss {Loss:0.####} (perplexity {Perplexity:0.##}) over {ScoredTokens} tokens{(Adapters.Count == 0 ? "" : $" with {Adapters.Count} adapter(s)")}");
}

/// <summary>One dataset scored twice by the same loaded model: without its adapters (the base model, exactly) and with them.</summary>
public sealed record DatasetScoreComparison(DatasetScore Base, DatasetScore Adapted)
{
    public string Dataset => Adapted.Dataset;
    public IReadOnlyList<string> Adapters => Adapted.Adapters;
    public double BaseLoss => Base.Loss;
    public double AdaptedLoss => Adapted.Loss;
    /// <summary>Adapted minus base: negative when the adapters lower the loss.</summary>
    public double LossChange => Adapted.Loss - Base.Loss;
    /// <summary>Adapted perplexity over base perplexity: below 1 when the adapters help.</summary>
    public double PerplexityRatio => Math.Exp(LossChange);
    public bool Improved => LossChange < 0;

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"loss {BaseLoss:0.####} -> {AdaptedLoss:0.####} ({LossChange:+0.####;-0.####;0})");
}
