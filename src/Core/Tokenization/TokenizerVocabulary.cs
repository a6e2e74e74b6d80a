using System.Collections.Generic;

namespace TrainableTokens.Core.Tokenization;

/// <summary>A checked tokenizer.json's ids: the model's vocabulary (piece to id) and the added tokens, in file order.</summary>
internal sealed record TokenizerVocabulary(Dictionary<string, int> Vocab, List<AddedToken> AddedTokens);
