using System.Collections.Generic;

namespace TrainableTokens.Core.Tokenization;

/// <summary>What a resize changed: the vocab_size before and after, and the tensors that grew.</summary>
public sealed record EmbeddingResizeResult(int OldVocabSize, int NewVocabSize, IReadOnlyList<string> ResizedTensors);
