using System;

namespace TrainableTokens.Core;

/// <summary>A Hugging Face model folder is missing a file, or its config.json or weights do not describe a usable model.</summary>
public sealed class InvalidModelFolderException : TrainableTokensException
{
    public InvalidModelFolderException(string message, string? target, Exception? inner = null)
        : base("InvalidModelFolder", ErrorKind.InvalidData, message, target, inner)
    {
    }
}
