using System.Collections.Generic;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Training;

namespace TrainableTokens.Core.Jobs;

/// <summary>
/// How an exported job batches on P processes so that each optimiser step sees the examples the engine's step would:
/// accelerate hands process r every P-th batch of the one ordered sequence, so P processes with A/P accumulation (or
/// batches of B/P) cover exactly the engine's A batches of B. When neither divides, the effective batch grows by P,
/// and the job says so.
/// </summary>
public sealed record JobBatching(int PerDeviceBatchSize, int GradientAccumulationSteps, StepPlan Plan, bool Exact)
{
    public static JobBatching For(TrainingConfig train, int trainExamples, int world, List<JobWarning> warnings)
    {
        int b = train.PerDeviceTrainBatchSize, a = train.GradientAccumulationSteps;
        var engine = StepPlan.For(train, trainExamples);
        if (world == 1) return new JobBatching(b, a, engine, true);
        JobBatching result;
        if (a % world == 0) result = new JobBatching(b, a / world, engine, true);
        else if (b % world == 0) result = new JobBatching(b / world, a, engine, true);
        else
        {
            // One device with P times the accumulation takes the same steps as P devices with the run's accumulation.
            var plan = StepPlan.For(trainExamples, b, a * world, train.MaxSteps, train.NumTrainEpochs, train.WarmupSteps, train.WarmupRatio);
            warnings.Add(new JobWarning("training.gradient_accumulation_steps",
                $"Neither gradient_accumulation_steps ({a}) nor per_device_train_batch_size ({b}) divides by the job's {world} processes, so each step " +
                $"takes {b * a * world} examples instead of the engine's {b * a}, and the run takes {plan.TotalSteps} steps instead of {engine.TotalSteps}. " +
                $"Choose a process count that divides one of them for the same steps."));
            return new JobBatching(b, a, plan, false);
        }
        // accelerate's even_batches fills a round of P batches that the epoch cannot fill with examples from its start.
        if (trainExamples % (result.PerDeviceBatchSize * world) != 0)
            warnings.Add(new JobWarning("training.per_device_train_batch_size",
                $"An epoch's {trainExamples} examples do not split evenly over {world} processes in batches of {result.PerDeviceBatchSize}: accelerate " +
                "fills the last batches of each epoch with examples from its start, so the last step of an epoch differs from the engine's."));
        return result;
    }
}
