using System;

namespace TrainableTokens.Core.Training;

/// <summary>
/// One optimiser step done. <see cref="Loss"/> is the mean step loss since the last logging step, this one included
/// (at a logging step, the value logged to metrics.jsonl); <see cref="StepLoss"/> is this step's alone.
/// <see cref="LearningRate"/> is the rate after the step, as Hugging Face logs it. <see cref="IsLoggingStep"/> is true
/// every logging_steps steps (and on the first and last); <see cref="Checkpoint"/> is the folder saved after this step,
/// if any; <see cref="EvalLoss"/> is set when the step was followed by an evaluation.
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
    public double StepLoss { get; init; } = double.NaN;
    public double? GradNorm { get; init; }
    public double? EvalLoss { get; init; }
    public double PercentComplete => TotalSteps == 0 ? 100 : 100.0 * Step / TotalSteps;
}
