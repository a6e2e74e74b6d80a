using System;
using System.Collections.Generic;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// Add tokens to the tokenizer of <see cref="Source"/> (a model folder or a folder with only tokenizer files) and write
/// the result to <see cref="Output"/>. For a model folder the embedding (and an untied LM head) grows to cover the new
/// ids, rounded up to <see cref="PadToMultipleOf"/>, and new rows start as <see cref="Init"/> says.
/// </summary>
public sealed record AddTokensRequest
{
    public required string Source { get; init; }
    public required string Output { get; init; }
    public required IReadOnlyList<string> Tokens { get; init; }
    /// <summary>Add them as special tokens (kept whole, never normalized, skipped by decode with skip_special_tokens).</summary>
    public bool Special { get; init; }
    public NewRowInit Init { get; init; } = NewRowInit.Mean;
    /// <summary>For <see cref="NewRowInit.Text"/>: one text for all tokens, or one per token.</summary>
    public IReadOnlyList<string> InitTexts { get; init; } = Array.Empty<string>();
    /// <summary>For <see cref="NewRowInit.Copy"/>: one existing token for all new tokens, or one per token.</summary>
    public IReadOnlyList<string> InitTokens { get; init; } = Array.Empty<string>();
    public int? PadToMultipleOf { get; init; }
    /// <summary>Seed of <see cref="NewRowInit.Random"/>.</summary>
    public int Seed { get; init; }
    /// <summary>Replace <see cref="Output"/> when it exists.</summary>
    public bool Overwrite { get; init; }
}
