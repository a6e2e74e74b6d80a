namespace TrainableTokens.Core.Tokenization;

/// <summary>One entry of tokenizer.json's added_tokens: a token matched in the text before the model splits it.</summary>
public sealed record AddedToken(int Id, string Content, bool Special, bool Normalized, bool LStrip = false, bool RStrip = false, bool SingleWord = false);
