using System.Collections.Generic;

namespace TrainableTokens.Core.Training;

/// <summary>
/// What a training run did: steps, losses, evaluation, time, and what it wrote. <see cref="AdapterFolder"/> is null when
/// the run was cancelled before the end (then only <see cref="Checkpoints"/> were written, if any); <see cref="Message"/>
/// says so in words. <see cref="Improved"/> answers "did the adapter help": its eval loss against the model's before training.
/// </summary>
public sealed record TrainingResult
{
    public required int Steps { get; init; }
    public required int TotalSteps { get; init; }
    public required double Epochs { get; init; }
    /// <summary>The first step's loss.</summary>
    public required double FirstLoss { get; init; }
    /// <summary>The last logged loss: the mean over the final logging interval.</summary>
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

    /// <summary>The eval loss of the model before training (null without evaluation).</summary>
    public double? EvalLossBefore { get; init; }
    /// <summary>The eval loss of the adapter written to output_dir (the best checkpoint's with load_best_model_at_end),
    /// or of the latest evaluation when the run was cancelled.</summary>
    public double? EvalLoss { get; init; }
    /// <summary>The lowest eval loss of any evaluation after a training step.</summary>
    public double? BestEvalLoss { get; init; }
    /// <summary>True when <see cref="EvalLoss"/> is below <see cref="EvalLossBefore"/>; null without evaluation.</summary>
    public bool? Improved => EvalLossBefore is { } before && EvalLoss is { } after ? after < before : null;
    /// <summary>The best checkpoint by metric_for_best_model (trainer_state.json's best_model_checkpoint), if tracked and kept.</summary>
    public string? BestCheckpoint { get; init; }
    /// <summary>True when early_stopping_patience ended the run before its last step.</summary>
    public bool EarlyStopped { get; init; }
    /// <summary>Every logging step and evaluation, as in metrics.jsonl.</summary>
    public IReadOnlyList<TrainingLogEntry> LossHistory { get; init; } = [];
    public string? MetricsFile { get; init; }
    public string? LossCurveFile { get; init; }
}
