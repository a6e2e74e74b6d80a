namespace TrainableTokens;

/// <summary>Ids turned back into text, with the vocabulary entry of each id.</summary>
public sealed class DecodedText
{
    public required int[] Ids { get; init; }
    public required string Text { get; init; }
    public required string[] Tokens { get; init; }

    public override string ToString() => Text;
}
