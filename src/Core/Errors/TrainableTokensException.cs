using System;

namespace TrainableTokens.Core;

/// <summary>What kind of problem an error is; the cmdlets map each kind to a PowerShell error category.</summary>
public enum ErrorKind
{
    InvalidArgument,
    InvalidData,
    ObjectNotFound,
    ResourceUnavailable,
    NotInstalled,
    WriteError,
    OperationStopped,
}

/// <summary>
/// Base of every error a user can cause or fix. The message names the file, field and fix; <see cref="ErrorId"/> is
/// stable so scripts can catch it; <see cref="Target"/> is the path or value the error is about.
/// </summary>
public abstract class TrainableTokensException : Exception
{
    protected TrainableTokensException(string errorId, ErrorKind kind, string message, string? target, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
        Target = target;
    }

    public string ErrorId { get; }
    public ErrorKind Kind { get; }
    public string? Target { get; }
}
