namespace TrainableTokens.Core.Training;

/// <summary>
/// One line of a run's history (<c>metrics.jsonl</c>, and <c>log_history</c> in trainer_state.json): a logging step
/// (<see cref="Loss"/> is the mean step loss since the previous logging step, <see cref="LearningRate"/> the rate of the
/// last step, <see cref="GradNorm"/> its gradient norm before clipping) or an evaluation (<see cref="EvalLoss"/>, the mean
/// loss per labelled token over the evaluation data, and its exponential, <see cref="EvalPerplexity"/>). Step 0 is the
/// evaluation before training. <see cref="TokensPerSecond"/> and <see cref="ElapsedSeconds"/> are timings, the only
/// values that differ between two runs of the same settings.
/// </summary>
public sealed record TrainingLogEntry
{
    public required int Step { get; init; }
    public required double Epoch { get; init; }
    public double? Loss { get; init; }
    public double? EvalLoss { get; init; }
    public double? EvalPerplexity { get; init; }
    public double? LearningRate { get; init; }
    public double? GradNorm { get; init; }
    public double? TokensPerSecond { get; init; }
    public required double ElapsedSeconds { get; init; }

    public bool IsEvaluation => EvalLoss is not null;

    public override string ToString() => IsEvaluation
        ? $"step {Step}: eval_loss {EvalLoss:0.0000}"
        : $"step {Step}: loss {Loss:0.0000}";
}
