using System;

namespace TrainableTokens.Core;

/// <summary>
/// Training data cannot be used: a malformed JSONL line, a record without the fields its format needs, a chat
/// template that cannot be rendered, or data that tokenises to nothing. The message names the file, the line (when
/// there is one) and the fix; <see cref="TrainableTokensException.Target"/> is the file's path, or "pipeline input".
/// </summary>
public sealed class InvalidDatasetException : TrainableTokensException
{
    public InvalidDatasetException(string message, string? target, int? line = null, Exception? inner = null)
        : base("InvalidDataset", ErrorKind.InvalidData, message, target, inner)
    {
        Line = line;
    }

    /// <summary>The 1-based line of the file the problem is on, when it is about one line.</summary>
    public int? Line { get; }
}
