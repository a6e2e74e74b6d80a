using System;

namespace TrainableTokens.Core.Training;

/// <summary>
/// One optimiser step done. <see cref="Loss"/> is the mean token loss of the step's batches; <see cref="IsLoggingStep"/>
/// is true every logging_steps steps (and on the first and last); <see cref="Checkpoint"/> is the folder saved after
/// this step, if any.
/// </summary>
public sealed record TrainingProgress(
    int Step,
    int TotalSteps,
    double Epoch,
    double Loss,
    double LearningRate,
    double TokensPerSecond,
    TimeSpan Elapsed,
    bool IsLoggingStep,
    string? Checkpoint)
{
    public double PercentComplete => TotalSteps == 0 ? 100 : 100.0 * Step / TotalSteps;
}
