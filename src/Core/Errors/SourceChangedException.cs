using System;

namespace TrainableTokens.Core;

/// <summary>
/// A source file changed (shrank, grew or was rewritten) between planning a copy and finishing it, so the copy would
/// not be the file that was checked. The output is discarded; <see cref="TrainableTokensException.Target"/> is the
/// source file. Rerun once nothing else writes the folder.
/// </summary>
public sealed class SourceChangedException : TrainableTokensException
{
    public SourceChangedException(string message, string? target, Exception? inner = null)
        : base("SourceChanged", ErrorKind.ResourceUnavailable, message, target, inner)
    {
    }
}
