using System;

namespace TrainableTokens.Core;

/// <summary>libtorch or TorchSharp's native library could not be loaded or used on this machine.</summary>
public sealed class NativeRuntimeException : TrainableTokensException
{
    public NativeRuntimeException(string message, string? target, Exception? inner = null)
        : base("NativeRuntimeUnavailable", ErrorKind.NotInstalled, message, target, inner)
    {
    }
}
