namespace TrainableTokens.Core.Models;

/// <summary>
/// The largest sizes config.json may give, each well above any released model's (vocabularies reach 262,144,
/// hidden sizes 25,600, layers 160). They refuse a damaged or hostile file before anything is allocated from it:
/// <c>num_hidden_layers: 100000000</c> is an error, not 1.5 GB of layer lists.
/// </summary>
public static class ModelConfigLimits
{
    public const int MaxVocabSize = 1 << 24;
    public const int MaxHiddenSize = 1 << 17;
    public const int MaxIntermediateSize = 1 << 20;
    public const int MaxLayers = 1024;
    public const int MaxHeads = 1024;
    public const int MaxHeadDim = 2048;
    public const int MaxPositions = 1 << 27;
    /// <summary>config.json is a few KB; label maps of classifiers make some a few MB.</summary>
    public const long MaxFileBytes = 16L << 20;
}
