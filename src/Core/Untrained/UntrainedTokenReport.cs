using System.Collections.Generic;

namespace TrainableTokens.Core.Untrained;

/// <summary>What <see cref="UntrainedTokenFinder"/> found in a model folder: the untrained tokens, in id order, and the
/// medians the near-zero rule compared with.</summary>
public sealed record UntrainedTokenReport(
    string ModelFolder,
    long VocabSize,
    bool TiedHead,
    double EmbeddingMedianNorm,
    double? HeadMedianNorm,
    IReadOnlyList<UntrainedToken> Tokens);
