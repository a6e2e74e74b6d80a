namespace TrainableTokens;

/// <summary>A tiny random model folder New-TinyModel wrote; <see cref="Path"/> binds to -Model of the next command.</summary>
public sealed class TinyModel
{
    public required string Path { get; init; }
    public required string ModelType { get; init; }
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int NumLayers { get; init; }
    public required string Dtype { get; init; }
    public required bool TieWordEmbeddings { get; init; }
    public required string[] Files { get; init; }

    public override string ToString() => Path;
}
