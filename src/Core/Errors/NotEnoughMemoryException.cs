using System;

namespace TrainableTokens.Core;

/// <summary>
/// The machine (or the GPU) has too little free memory for what was asked, found before loading or when libtorch
/// could not allocate. The message gives what is needed and what is free, the path, and the fix.
/// </summary>
public sealed class NotEnoughMemoryException : TrainableTokensException
{
    public NotEnoughMemoryException(string message, string? target, long neededBytes, long? availableBytes, Exception? inner = null)
        : base("NotEnoughMemory", ErrorKind.ResourceUnavailable, message, target, inner)
    {
        NeededBytes = neededBytes;
        AvailableBytes = availableBytes;
    }

    /// <summary>About how many bytes the operation needs.</summary>
    public long NeededBytes { get; }

    /// <summary>How many bytes were free when it was checked; null when this machine does not say.</summary>
    public long? AvailableBytes { get; }
}
