using System.Collections.Generic;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// What <see cref="TokenAdder.Run"/> wrote: each requested token with its id, the tokenizer's new size and, for a
/// model folder, the vocab_size before and after (null for a tokenizer-only folder).
/// </summary>
public sealed record AddTokensResult(
    string Output,
    IReadOnlyList<TokenAddition> Tokens,
    int TokenizerSize,
    int? OldVocabSize,
    int? NewVocabSize,
    IReadOnlyList<string> ResizedTensors,
    IReadOnlyList<string> Notes);
