namespace TrainableTokens;

/// <summary>What a dataset gives once read and tokenised exactly as training reads it.</summary>
public sealed class DatasetSummary
{
    public required string Source { get; init; }
    public required int Records { get; init; }
    public required int Sequences { get; init; }
    public required int Tokens { get; init; }
    public required int LabelledTokens { get; init; }
    public required int Truncated { get; init; }
    public required int EmptyRecords { get; init; }
    /// <summary>Records per format, such as "text=3, prompt_completion=2".</summary>
    public required string Formats { get; init; }
    public string? ChatTemplate { get; init; }
    public required int MaxLength { get; init; }
    public required bool Packing { get; init; }
    public required int PadTokenId { get; init; }
    public required int[] FirstSequence { get; init; }
    /// <summary>The first sequence's labels: -100 where no loss applies.</summary>
    public required int[] FirstLabels { get; init; }
}
