namespace TrainableTokens.Core.Training;

/// <summary>A run cannot start or go on: a missing setting, a feature this version lacks, a loss that is not finite.</summary>
public sealed class TrainingFailedException : TrainableTokensException
{
    public TrainingFailedException(string errorId, ErrorKind kind, string message, string? target = null)
        : base(errorId, kind, message, target)
    {
    }
}
