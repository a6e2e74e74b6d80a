namespace TrainableTokens.Core;

/// <summary>A text or setting asks for more positions than the model handles (config.json's max_position_embeddings).</summary>
public sealed class SequenceTooLongException : TrainableTokensException
{
    public SequenceTooLongException(string message, string? target)
        : base("SequenceTooLong", ErrorKind.InvalidArgument, message, target)
    {
    }
}
