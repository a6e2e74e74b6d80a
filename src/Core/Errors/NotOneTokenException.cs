namespace TrainableTokens.Core;

/// <summary>A token given by its text is not exactly one token of the model's tokenizer.</summary>
public sealed class NotOneTokenException : TrainableTokensException
{
    public NotOneTokenException(string token, string message)
        : base("NotOneToken", ErrorKind.InvalidArgument, message, token)
    {
        Token = token;
    }

    public string Token { get; }
}
