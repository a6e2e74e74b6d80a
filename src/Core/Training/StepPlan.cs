using System;
using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Core.Training;

/// <summary>
/// How many optimiser steps a run takes and how its learning rate warms up, from the training settings and the number
/// of training examples: the trainer runs by it, and an exported job is given the same numbers, so both schedules agree.
/// </summary>
public sealed record StepPlan(int BatchesPerEpoch, int StepsPerEpoch, int TotalSteps, int WarmupSteps)
{
    /// <summary>Batches of <paramref name="batchSize"/> per epoch (the last may be smaller), steps of
    /// <paramref name="accumulation"/> batches (an epoch's last step may take fewer), max_steps or ceil(epochs x steps per epoch).</summary>
    public static StepPlan For(int examples, int batchSize, int accumulation, int? maxSteps, double epochs, int warmupSteps, double warmupRatio)
    {
        var batches = (examples + batchSize - 1) / batchSize;
        var perEpoch = Math.Max(1, (batches + accumulation - 1) / accumulation);
        var total = maxSteps ?? (int)Math.Ceiling(epochs * perEpoch);
        return new StepPlan(batches, perEpoch, total, LearningRateSchedule.WarmupFor(warmupSteps, warmupRatio, total));
    }

    /// <summary>The plan of a run's settings over <paramref name="examples"/> training examples.</summary>
    public static StepPlan For(TrainingConfig train, int examples) =>
        For(examples, train.PerDeviceTrainBatchSize, train.GradientAccumulationSteps, train.MaxSteps, train.NumTrainEpochs, train.WarmupSteps, train.WarmupRatio);

    /// <summary>How many epochs (whole or begun) the run visits.</summary>
    public int Epochs => (TotalSteps + StepsPerEpoch - 1) / StepsPerEpoch;
}
