using System;

namespace TrainableTokens.Core;

/// <summary>An adapter (its config, its tensors, or how it fits the model) cannot be used; the message names the file, key and fix.</summary>
public sealed class InvalidAdapterException : TrainableTokensException
{
    public InvalidAdapterException(string message, string? target, Exception? inner = null)
        : base("InvalidAdapter", ErrorKind.InvalidData, message, target, inner)
    {
    }
}
