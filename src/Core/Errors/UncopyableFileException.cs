using System;

namespace TrainableTokens.Core;

/// <summary>
/// A folder to be copied holds something that must not or cannot be copied: a symbolic link to a file or folder
/// outside it (which would copy, say, <c>/etc/passwd</c> into the output), a broken link, a loop of links, or a FIFO,
/// device or socket. Nothing has been written when it is thrown; the message names the entry, its target and the fix.
/// </summary>
public sealed class UncopyableFileException : TrainableTokensException
{
    public UncopyableFileException(string message, string? target, Exception? inner = null)
        : base("UncopyableFile", ErrorKind.InvalidData, message, target, inner)
    {
    }
}
