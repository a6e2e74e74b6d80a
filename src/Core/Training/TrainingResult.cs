using System.Collections.Generic;

namespace TrainableTokens.Core.Training;

/// <summary>
/// What a training run did: steps, losses, time, and what it wrote. <see cref="AdapterFolder"/> is null when the run
/// was cancelled before the end (then only <see cref="Checkpoints"/> were written, if any); <see cref="Message"/> says
/// so in words.
/// </summary>
public sealed record TrainingResult
{
    public required int Steps { get; init; }
    public required int TotalSteps { get; init; }
    public required double Epochs { get; init; }
    public required double FirstLoss { get; init; }
    public required double FinalLoss { get; init; }
    public required double Seconds { get; init; }
    public required double TokensPerSecond { get; init; }
    public required long TrainedTokens { get; init; }
    public required IReadOnlyList<long> TokenIndices { get; init; }
    public string? AdapterFolder { get; init; }
    public required IReadOnlyList<string> Checkpoints { get; init; }
    public required bool Cancelled { get; init; }
    /// <summary>Token ids whose rows were untrained in the base model (zero, near zero or duplicated) and so started from
    /// the mean of the trained rows instead (init_weights true, not on resume); empty when none did.</summary>
    public IReadOnlyList<long> MeanInitialisedTokens { get; init; } = [];
    public required string Message { get; init; }
}
