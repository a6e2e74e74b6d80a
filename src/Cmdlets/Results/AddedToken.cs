namespace TrainableTokens;

/// <summary>A token Add-TokenizerToken asked for: its id in the new folder (<see cref="Model"/>), and whether it was new.</summary>
public sealed class AddedToken
{
    public required string Token { get; init; }
    public required int Id { get; init; }
    public required bool Special { get; init; }
    /// <summary>False when the token was already in the vocabulary (its existing id is returned).</summary>
    public required bool Added { get; init; }
    /// <summary>The folder written; binds to -Model (-BaseModel) of the next command.</summary>
    public required string Model { get; init; }
    public required int TokenizerSize { get; init; }
    /// <summary>The embedding's rows; null for a tokenizer-only folder.</summary>
    public int? VocabSize { get; init; }

    public override string ToString() => $"{Token} ({Id})";
}
