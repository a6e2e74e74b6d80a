namespace TrainableTokens.Core;

/// <summary>A token id is negative or not below the model's vocabulary size.</summary>
public sealed class TokenIdOutOfRangeException : TrainableTokensException
{
    public TokenIdOutOfRangeException(long id, long vocabularySize)
        : base("TokenIdOutOfRange", ErrorKind.InvalidArgument,
            $"Token id {id} is outside the model's vocabulary (ids run from 0 to {vocabularySize - 1}). " +
            "Use ids from the model's tokenizer, or add tokens and resize the model first.", id.ToString(System.Globalization.CultureInfo.InvariantCulture))
    {
        Id = id;
        VocabularySize = vocabularySize;
    }

    public long Id { get; }
    public long VocabularySize { get; }
}
