namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// What happened to one requested token: its id in the new tokenizer, whether it was added (false: it already had
/// that id, and nothing changed for it) and, when not added, why.
/// </summary>
public sealed record TokenAddition(string Token, int Id, bool Special, bool Added, string? Note = null);
