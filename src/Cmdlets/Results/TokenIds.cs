namespace TrainableTokens;

/// <summary>A text as a model's tokenizer splits it; <see cref="Ids"/> binds to -InputId and -Id of the next command.</summary>
public sealed class TokenIds
{
    public required string Text { get; init; }
    public required int[] Ids { get; init; }
    /// <summary>The vocabulary entry of each id (such as Ġworld).</summary>
    public required string[] Tokens { get; init; }
    public int Count => Ids.Length;

    public override string ToString() => string.Join(", ", Ids);
}
