using System;

namespace TrainableTokens.Core;

/// <summary>Writing an output failed (a full disk, no permission, another run holding it); the message names the user's
/// path, says that nothing was left half-written, and what to do.</summary>
public sealed class OutputWriteException : TrainableTokensException
{
    public OutputWriteException(string errorId, string message, string? target, Exception? inner = null)
        : base(errorId, ErrorKind.WriteError, message, target, inner)
    {
    }
}
