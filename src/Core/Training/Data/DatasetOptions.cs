namespace TrainableTokens.Core.Training.Data;

/// <summary>How records become training sequences.</summary>
public sealed record DatasetOptions
{
    /// <summary>The longest sequence; longer examples are cut (or, with packing, sequences are filled to it).</summary>
    public int MaxLength { get; init; } = 512;
    /// <summary>Concatenate all examples and cut the stream into MaxLength chunks (no padding except in the last one).</summary>
    public bool Packing { get; init; }
    /// <summary>End text and prompt/completion examples with the tokenizer's eos token, as TRL does (chat templates write their own).</summary>
    public bool AddEos { get; init; } = true;
}
