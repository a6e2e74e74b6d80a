namespace TrainableTokens.Core.Untrained;

/// <summary>
/// A token whose input embedding row, or row of the model's own (untied) LM head, looks untrained. Norms are L2 norms
/// of the stored rows; <see cref="HeadNorm"/> is null when the head is tied to the embedding. <see cref="Reason"/> says
/// which rows and why, e.g. "embedding duplicate (254 rows); head zero".
/// </summary>
public sealed record UntrainedToken(long Id, string? Token, double EmbeddingNorm, double? HeadNorm, string Reason)
{
    public UntrainedReason? EmbeddingReason { get; init; }
    public UntrainedReason? HeadReason { get; init; }
}
