namespace TrainableTokens.Core;

/// <summary>An output path that would overwrite or contain something the user owns: an input of the same command,
/// or a file or folder this command did not write itself.</summary>
public sealed class OutputConflictException : TrainableTokensException
{
    public OutputConflictException(string message, string? target, string errorId = "OutputConflict")
        : base(errorId, ErrorKind.InvalidArgument, message, target)
    {
    }
}
