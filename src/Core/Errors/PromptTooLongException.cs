namespace TrainableTokens.Core;

/// <summary>A prompt, or a prompt plus the tokens asked for, does not fit the model's positions.</summary>
public sealed class PromptTooLongException : TrainableTokensException
{
    public PromptTooLongException(string message, string? target)
        : base("PromptTooLong", ErrorKind.InvalidArgument, message, target)
    {
    }
}
