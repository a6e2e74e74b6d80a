namespace TrainableTokens.Core.Tokenization;

/// <summary>How the rows a resize adds to the embedding (and an untied LM head) start out.</summary>
public enum NewRowInit
{
    /// <summary>The mean of the existing trained rows: Hugging Face's default (which also adds noise at 1e-9 of the rows' covariance), leaving out untrained rows (see Untrained.RowScan) as Unsloth does.</summary>
    Mean,
    /// <summary>The mean of the rows of a text's tokens, e.g. "begin reasoning" for &lt;think&gt;.</summary>
    Text,
    /// <summary>A copy of one existing token's row.</summary>
    Copy,
    /// <summary>Normal with mean 0 and the model's initializer_range (0.02 when config.json does not say), seeded.</summary>
    Random,
}
