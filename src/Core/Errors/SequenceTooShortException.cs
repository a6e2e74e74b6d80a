namespace TrainableTokens.Core;

/// <summary>A text to score tokenises to too few tokens (a log-probability needs a token before it).</summary>
public sealed class SequenceTooShortException : TrainableTokensException
{
    public SequenceTooShortException(string message, string? target)
        : base("SequenceTooShort", ErrorKind.InvalidArgument, message, target)
    {
    }
}
