using System;

namespace TrainableTokens.Core;

/// <summary>
/// A safetensors file, or a sharded checkpoint's index, is damaged, truncated or not what it claims to be. The message
/// names the file, the tensor when there is one, the problem and what to do; <see cref="TrainableTokensException.Target"/>
/// is the file's path.
/// </summary>
public sealed class InvalidSafetensorsException : TrainableTokensException
{
    public InvalidSafetensorsException(string message, string? target, Exception? inner = null)
        : base("InvalidSafetensorsFile", ErrorKind.InvalidData, message, target, inner)
    {
    }
}
