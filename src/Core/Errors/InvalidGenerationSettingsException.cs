namespace TrainableTokens.Core;

/// <summary>A decoding setting (temperature, top-k, top-p, max new tokens, stop strings) is out of range; the message names it and its range.</summary>
public sealed class InvalidGenerationSettingsException : TrainableTokensException
{
    public InvalidGenerationSettingsException(string message, string? target)
        : base("InvalidGenerationSettings", ErrorKind.InvalidArgument, message, target)
    {
    }
}
