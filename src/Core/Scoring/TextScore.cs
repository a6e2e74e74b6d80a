using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace TrainableTokens.Core.Scoring;

/// <summary>One token of a scored text: how likely the model found it after the tokens before it.</summary>
public sealed record TokenScore(int Position, int Id, string? Token, double LogProbability, int Rank)
{
    public double Probability => Math.Exp(LogProbability);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Id} '{Token}' {LogProbability:0.###}");
}

/// <summary>
/// The log-probability of each token of a text after the ones before it (the text tokenised with the tokenizer's special
/// tokens, as a dataset's text; the first token has no prediction and is not scored). Their sum is minus the summed
/// loss; <see cref="Loss"/> is the mean, so <see cref="Perplexity"/> is exp(Loss).
/// </summary>
public sealed record TextScore
{
    public required string Model { get; init; }
    public required IReadOnlyList<string> Adapters { get; init; }
    public required string Text { get; init; }
    /// <summary>Every token id of the text, the unscored first one included.</summary>
    public required IReadOnlyList<int> InputIds { get; init; }
    public required IReadOnlyList<TokenScore> Tokens { get; init; }
    public double SumLogProbability => Tokens.Sum(t => t.LogProbability);
    public double Loss => Tokens.Count == 0 ? double.NaN : -SumLogProbability / Tokens.Count;
    public double Perplexity => Math.Exp(Loss);

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"loss {Loss:0.####} (perplexity {Perplexity:0.##}) over {Tokens.Count} tokens");
}

/// <summary>A candidate next token and its probability.</summary>
public sealed record TokenCandidate(int Id, string? Token, double Probability)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"'{Token}' {Probability:0.####}");
}

/// <summary>
/// How likely one token is right after a prompt (tokenised with the tokenizer's special tokens, no end-of-sequence):
/// its log-probability, its rank among the whole vocabulary (1 = the greedy choice) and the most likely tokens there.
/// </summary>
public sealed record NextTokenScore
{
    public required string Model { get; init; }
    public required IReadOnlyList<string> Adapters { get; init; }
    public required string Prompt { get; init; }
    public required string Token { get; init; }
    public required int TokenId { get; init; }
    public required double LogProbability { get; init; }
    public double Probability => Math.Exp(LogProbability);
    /// <summary>1 when no token is more likely (ties go to the lower id, as argmax picks).</summary>
    public required int Rank { get; init; }
    public bool IsTop => Rank == 1;
    /// <summary>The most likely next tokens, most likely first.</summary>
    public required IReadOnlyList<TokenCandidate> Top { get; init; }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"'{Token}' after the prompt: probability {Probability:0.####}, rank {Rank}");
}
