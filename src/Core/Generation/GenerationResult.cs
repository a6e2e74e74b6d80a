using System.Collections.Generic;

namespace TrainableTokens.Core.Generation;

/// <summary>Why generation ended.</summary>
public enum StopReason
{
    /// <summary>An end-of-sequence id was generated.</summary>
    EndOfSequence,
    /// <summary>The output contained a stop string.</summary>
    StopString,
    /// <summary>MaxNewTokens were generated.</summary>
    MaxNewTokens,
    /// <summary>The caller cancelled (Ctrl+C).</summary>
    Cancelled,
}

/// <summary>One generated token, as it is handed to a streaming callback.</summary>
/// <param name="Text">The text this token adds to the output: empty while it may still be part of a stop string or of
/// a character whose bytes are split across tokens (that text comes with a later token).</param>
public sealed record GeneratedToken(int Index, int Id, string Text);

/// <summary>What a generation produced. <see cref="GeneratedIds"/> holds every new id (an eos id included);
/// <see cref="Text"/> is their text without the eos token and cut before a stop string.</summary>
public sealed record GenerationResult
{
    public required string Text { get; init; }
    public required IReadOnlyList<int> GeneratedIds { get; init; }
    public required IReadOnlyList<int> PromptIds { get; init; }
    public required StopReason StopReason { get; init; }
    /// <summary>The stop string or eos id that ended generation, or null.</summary>
    public string? StoppedAt { get; init; }
    public int PromptTokens => PromptIds.Count;
    public int GeneratedTokens => GeneratedIds.Count;
    /// <summary>Seconds for the prompt's forward (prefill).</summary>
    public double PromptSeconds { get; init; }
    /// <summary>Seconds for the new tokens after the first (one forward each).</summary>
    public double GenerationSeconds { get; init; }
    /// <summary>New tokens per second after the prompt's forward (0 when only one token was generated).</summary>
    public double TokensPerSecond => GeneratedIds.Count > 1 && GenerationSeconds > 0 ? (GeneratedIds.Count - 1) / GenerationSeconds : 0;
    /// <summary>"greedy" or "sampled".</summary>
    public required string Decoding { get; init; }
    /// <summary>The sampling seed used (give it back as -Seed to repeat a sampled run), or null for greedy.</summary>
    public long? Seed { get; init; }
    public string? Model { get; init; }
    public IReadOnlyList<string> Adapters { get; init; } = new List<string>();
    public bool UsedCache { get; init; } = true;

    public override string ToString() => Text;
}
