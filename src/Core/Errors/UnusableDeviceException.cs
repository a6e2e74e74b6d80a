namespace TrainableTokens.Core;

/// <summary>The device asked for is not in this build or not on this machine (a GPU that is not there, say).</summary>
public sealed class UnusableDeviceException : TrainableTokensException
{
    public UnusableDeviceException(string message, string? target)
        : base("UnusableDevice", ErrorKind.ResourceUnavailable, message, target)
    {
    }
}
