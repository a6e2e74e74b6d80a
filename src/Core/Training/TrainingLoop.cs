using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using TorchSharp.Modules;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Training.Data;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Training;

/// <summary>What the training loop needs from the set-up: the model with its adapter in place, the data, and output_dir.</summary>
internal sealed record LoopSetup
{
    public required TrainingConfig Train { get; init; }
    public required CausalLanguageModel Model { get; init; }
    /// <summary>The adapter being trained, whichever tuner it belongs to.</summary>
    public required ITrainingTuner Tuner { get; init; }
    public required TrainingData Data { get; init; }
    public required Device Device { get; init; }
    public required OutputFolder Output { get; init; }
    public required string OutputDir { get; init; }
    public required RunIdentity Identity { get; init; }
    /// <summary>The checkpoint resumed from (its adapter already loaded), or null.</summary>
    public (string Folder, TrainerState State)? Resume { get; init; }
}

/// <summary>
/// The optimisation loop as Hugging Face's Trainer runs it: AdamW over the adapter's rows, the schedule, accumulation
/// and clipping; logging every logging_steps (the mean loss of the interval), evaluation by eval_strategy, checkpoints
/// every save_steps and at the last step, best-checkpoint tracking and early stopping. Everything it decides on is in
/// each checkpoint, so a resumed run continues to the same adapter, history and best checkpoint, bit for bit.
/// </summary>
internal static class TrainingLoop
{
    /// <summary>Tests set this (on their own thread) to make logging steps skip their rewrites, as a long run's do.</summary>
    [ThreadStatic] internal static double? HistoryRewriteFactor;

    public static TrainingResult Run(LoopSetup s, IProgress<TrainingProgress>? progress, CancellationToken cancellation)
    {
        var train = s.Train;
        var output = s.Output;
        var batchSize = train.PerDeviceTrainBatchSize;
        var accumulation = train.GradientAccumulationSteps;
        var steps = StepPlan.For(train, s.Data.Train.Count);
        var (batchesPerEpoch, stepsPerEpoch, totalSteps) = (steps.BatchesPerEpoch, steps.StepsPerEpoch, steps.TotalSteps);
        var schedule = new LearningRateSchedule(train.LrSchedulerType, train.LearningRate, steps.WarmupSteps, totalSteps);
        var plan = EvaluationPlan.For(train, s.Data.Eval.Count > 0);
        var parameters = s.Tuner.TrainableParameters;
        s.Tuner.Training = true;

        using var optimizer = optim.AdamW(parameters, lr: train.LearningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: train.WeightDecay);
        var resumed = s.Resume?.State;
        if (s.Resume is { } from)
        {
            OptimizerCheckpoint.Load(optimizer, from.Folder);
            RngState.Load(from.Folder);
        }
        var clock = Stopwatch.StartNew();
        var elapsedBefore = resumed?.ElapsedSeconds ?? 0;
        double Elapsed() => elapsedBefore + clock.Elapsed.TotalSeconds;

        int step = resumed?.GlobalStep ?? 0, epoch = resumed?.EpochIndex ?? 0;
        double firstLoss = resumed?.FirstLoss ?? double.NaN, lastLoss = resumed?.LastLoss ?? double.NaN;
        long trainedTokens = resumed?.TrainedTokens ?? 0;
        var skip = resumed?.BatchesInEpoch ?? 0;
        var history = new List<TrainingLogEntry>(resumed?.LogHistory ?? []);
        var interval = resumed?.Interval ?? new TrainerState.LoggingInterval(0, 0, 0, 0);
        double? bestMetric = resumed?.BestMetric;
        int? bestStep = resumed?.BestGlobalStep;
        string? bestCheckpoint = resumed?.BestModelCheckpoint is { } b ? output.CheckpointPath(StepOf(b)) : null;
        var patienceCounter = resumed?.PatienceCounter ?? 0;
        var stopped = resumed?.TrainingStopped ?? false;
        double? evalLossBefore = resumed?.EvalLossBefore;
        var cancelled = false;
        // Losses and norms stay on the device between the steps that need them (see StepReadback).
        using var readback = new StepReadback();
        StepValues? ReadBack()
        {
            StepValues? latest = null;
            foreach (var read in readback.Read())
            {
                if (read.HasLabels && !double.IsFinite(read.Loss))
                    throw new TrainingFailedException("LossNotFinite", ErrorKind.InvalidData,
                        $"The loss became {read.Loss} at step {read.Step}. Lower learning_rate, or set max_grad_norm (for example 1.0). Nothing was written for this run after the last checkpoint.");
                // A step whose tokens all lack labels (prompts longer than max_seq_length) has no loss: it adds none to the interval.
                if (read.HasLabels)
                {
                    if (double.IsNaN(firstLoss)) firstLoss = read.Loss;
                    lastLoss = read.Loss;
                    interval = interval with { LossSum = interval.LossSum + read.Loss, LossSteps = interval.LossSteps + 1 };
                }
                latest = read;
            }
            return latest;
        }

        // The files are rewritten whole (atomically), so their cost grows with the history: a logging step alone rewrites
        // them only once the time since the last write is 20 times what that write took (at most ~5% of the run), while
        // checkpoints, evaluations and the end always do. Early on, when a write is cheap, that is every logging step.
        var sinceWrite = Stopwatch.StartNew();
        var writeCost = TimeSpan.Zero;
        var unwritten = false;
        void WriteHistory(bool force = true)
        {
            if (!force && sinceWrite.Elapsed.TotalSeconds < writeCost.TotalSeconds * (HistoryRewriteFactor ?? 20))
            {
                unwritten = true;
                return;
            }
            var write = Stopwatch.StartNew();
            output.WriteRunFile(MetricsLog.FileName, MetricsLog.ToJsonLines(history));
            output.WriteRunFile(LossCurveSvg.FileName, new UTF8Encoding(false).GetBytes(LossCurveSvg.Render(history, totalSteps)));
            writeCost = write.Elapsed;
            sinceWrite.Restart();
            unwritten = false;
        }

        try
        {
            if (resumed is not null)
            {
                // The history as the checkpoint knew it: lines a killed run logged after it are logged again, once.
                WriteHistory();
            }
            else if (plan.Enabled)
            {
                evalLossBefore = Evaluate(s, train.PerDeviceEvalBatchSize);
                history.Add(EvalEntry(0, 0, evalLossBefore.Value, Elapsed()));
                WriteHistory();
            }
            while (step < totalSteps && !cancelled && !stopped)
            {
                using var batches = s.Data.TrainBatches(batchSize, train.Seed + epoch, s.Device).GetEnumerator();
                var inEpoch = 0;
                // A resumed run continues the interrupted epoch at the batch after the checkpoint's: the same order.
                for (; skip > 0 && batches.MoveNext(); skip--, inEpoch++) batches.Current.Dispose();
                skip = 0;
                while (step < totalSteps)
                {
                    if (cancellation.IsCancellationRequested)
                    {
                        cancelled = true;
                        break;
                    }
                    var group = new List<Batch>();
                    var stepClock = Stopwatch.StartNew();
                    StepResult result;
                    try
                    {
                        // Inside the try: a batch that fails to collate must not leak the ones already made.
                        while (group.Count < accumulation && batches.MoveNext()) group.Add(batches.Current);
                        if (group.Count == 0) break;
                        result = Step(s.Model, optimizer, parameters, group, schedule.At(step), train.MaxGradNorm, train.GradientCheckpointing);
                    }
                    finally
                    {
                        foreach (var batch in group) batch.Dispose();
                    }
                    var seconds = stepClock.Elapsed.TotalSeconds;
                    inEpoch += group.Count;
                    step++;
                    trainedTokens += result.Tokens;
                    readback.Add(step, result.LossSums, result.Labelled, result.GradNorm);
                    interval = interval with { Tokens = interval.Tokens + result.Tokens, Seconds = interval.Seconds + seconds };
                    var last = step == totalSteps;
                    var epochEnded = inEpoch >= batchesPerEpoch;
                    var epochValue = Math.Round(epoch + (double)inEpoch / batchesPerEpoch, 4);
                    var logged = step == 1 || last || step % train.LoggingSteps == 0;
                    var evaluating = plan.IsDue(step, epochEnded, last);
                    // Only where a value is logged, compared or saved is it read back; elsewhere the step's loss is NaN.
                    var read = logged || evaluating || last || step % train.SaveSteps == 0 ? ReadBack() : null;
                    var intervalLoss = read is not null && interval.LossSteps > 0 ? interval.LossSum / interval.LossSteps : double.NaN;
                    if (logged)
                    {
                        history.Add(new TrainingLogEntry
                        {
                            Step = step, Epoch = epochValue, Loss = NullIfNaN(intervalLoss), LearningRate = schedule.At(step), GradNorm = read?.GradNorm,
                            TokensPerSecond = interval.Seconds > 0 ? interval.Tokens / interval.Seconds : null, ElapsedSeconds = Elapsed(),
                        });
                        interval = new TrainerState.LoggingInterval(0, 0, 0, 0);
                    }
                    double? evalLoss = null;
                    if (evaluating)
                    {
                        evalLoss = Evaluate(s, train.PerDeviceEvalBatchSize);
                        history.Add(EvalEntry(step, epochValue, evalLoss.Value, Elapsed()));
                        if (plan.Metric is { } metric)
                        {
                            var value = metric == "eval_loss" ? evalLoss.Value : Math.Exp(evalLoss.Value);
                            // As Hugging Face: early stopping compares with the best so far before this evaluation joins it.
                            if (plan.Patience is { } patience)
                            {
                                patienceCounter = plan.Better(value, bestMetric, plan.Threshold) ? 0 : patienceCounter + 1;
                                if (patienceCounter >= patience) stopped = true;
                            }
                            if (plan.Better(value, bestMetric))
                            {
                                bestMetric = value;
                                bestStep = step;
                            }
                        }
                    }
                    string? checkpoint = null;
                    if (step % train.SaveSteps == 0 || last || stopped)
                    {
                        if (bestStep is { } best && (best == step || Directory.Exists(output.CheckpointPath(best)))) bestCheckpoint = output.CheckpointPath(best);
                        var state = new TrainerState
                        {
                            BestMetric = bestMetric, BestGlobalStep = bestStep, BestModelCheckpoint = bestCheckpoint, Epoch = epochValue,
                            EvalSteps = plan.Strategy == "steps" ? plan.Steps : null, GlobalStep = step, LogHistory = history.ToList(),
                            LoggingSteps = train.LoggingSteps, MaxSteps = totalSteps, NumInputTokensSeen = trainedTokens,
                            NumTrainEpochs = (int)Math.Ceiling((double)totalSteps / stepsPerEpoch), SaveSteps = train.SaveSteps, TrainBatchSize = batchSize,
                            Callbacks = new TrainerState.StatefulCallbacks(
                                new(new TrainerState.ControlArgs(false, false, false, true, stopped), new()),
                                plan.Patience is { } p ? new(new TrainerState.EarlyStoppingArgs(p, plan.Threshold), new() { ["early_stopping_patience_counter"] = patienceCounter }) : null),
                            EpochIndex = epoch, BatchesInEpoch = inEpoch, GradientAccumulationSteps = accumulation,
                            FirstLoss = NullIfNaN(firstLoss), LastLoss = NullIfNaN(lastLoss), TrainedTokens = trainedTokens, Seed = train.Seed,
                            TokenIndices = s.Identity.TokenIndices, PeftType = s.Identity.Lora is null ? null : s.Identity.PeftType, ModelFingerprint = s.Identity.ModelFingerprint,
                            TrainDataFingerprint = s.Identity.TrainDataFingerprint, EvalDataFingerprint = s.Identity.EvalDataFingerprint,
                            EvalLossBefore = evalLossBefore, ElapsedSeconds = Elapsed(), Interval = interval,
                            Scheduler = new(train.LrSchedulerType, train.LearningRate, schedule.WarmupSteps, totalSteps, step, schedule.At(step)),
                        };
                        checkpoint = output.SaveCheckpoint(s.Tuner, step, folder =>
                        {
                            state.Write(folder);
                            OptimizerCheckpoint.Save(optimizer, folder);
                            RngState.Save(folder);
                        }, keep: bestCheckpoint);
                    }
                    // After the checkpoint, so a kill between the two leaves a history the checkpoint covers.
                    if (logged || evalLoss is not null) WriteHistory(force: evalLoss is not null || checkpoint is not null || last || stopped);
                    progress?.Report(new TrainingProgress(step, totalSteps, epochValue, intervalLoss, schedule.At(step),
                        seconds > 0 ? result.Tokens / seconds : 0, TimeSpan.FromSeconds(Elapsed()), logged, checkpoint)
                    {
                        StepLoss = read?.Loss ?? double.NaN,
                        GradNorm = read?.GradNorm,
                        EvalLoss = evalLoss,
                    });
                    if (stopped) break;
                }
                epoch++;
            }
            // A cancelled run's last steps still count in its first and last loss.
            ReadBack();
            if (unwritten) WriteHistory();
        }
        catch
        {
            // A failed run (full disk, a non-finite loss, ...) gives a previous run's output back, untouched.
            output.RestorePrevious();
            throw;
        }

        string? adapterFolder = null;
        var restored = false;
        var fromBest = plan.LoadBestAtEnd && bestCheckpoint is not null && Directory.Exists(bestCheckpoint);
        if (!cancelled)
        {
            try
            {
                if (fromBest) output.SaveFinalFrom(bestCheckpoint!);
                else output.SaveFinal(s.Tuner);
            }
            catch
            {
                output.RestorePrevious();
                throw;
            }
            adapterFolder = s.OutputDir;
        }
        else if (output.HasPrevious)
        {
            output.RestorePrevious();
            restored = true;
        }
        else if (output.Checkpoints.Count == 0)
        {
            output.DiscardRunFiles();
        }
        return Result(s, history, step, totalSteps, stepsPerEpoch, firstLoss, lastLoss, trainedTokens, Elapsed(), clock.Elapsed.TotalSeconds,
            evalLossBefore, fromBest ? StepOf(bestCheckpoint!) : null, fromBest ? bestCheckpoint : null, bestCheckpoint,
            stopped && !cancelled && step < totalSteps, cancelled, restored, adapterFolder);
    }

    private static TrainingResult Result(LoopSetup s, List<TrainingLogEntry> history, int step, int totalSteps, int stepsPerEpoch,
        double firstLoss, double lastLoss, long trainedTokens, double elapsed, double thisRun, double? evalLossBefore, int? finalFromStep,
        string? finalFrom, string? bestCheckpoint, bool earlyStopped, bool cancelled, bool restored, string? adapterFolder)
    {
        var evals = history.Where(e => e.EvalLoss is not null).ToList();
        var trained = evals.Where(e => e.Step > 0).ToList();
        // The eval loss of what output_dir holds: the best checkpoint's with load_best_model_at_end, else the last step's.
        double? evalLoss = finalFromStep is { } at ? trained.LastOrDefault(e => e.Step == at)?.EvalLoss : trained.LastOrDefault()?.EvalLoss;
        double? bestEval = trained.Count == 0 ? null : trained.Min(e => e.EvalLoss!.Value);
        var finalLoss = history.LastOrDefault(e => e.Loss is not null)?.Loss ?? lastLoss;
        var saved = s.Output.Checkpoints;
        var outputDir = s.OutputDir;
        var evalText = evalLossBefore is { } before && evalLoss is { } after ? $" eval loss {before:0.####} -> {after:0.####};" : "";
        var message = cancelled
            ? $"Cancelled after {step} of {totalSteps} steps. " + (restored
                ? $"The previous run's checkpoints and adapter in {outputDir} were put back as they were."
                : saved.Count == 0
                ? "Nothing was written."
                : $"Saved checkpoints: {string.Join(", ", saved)}; the final adapter was not written. Set resume_from_checkpoint: latest to continue.")
            : $"Trained {step} steps in {elapsed:0.0} s{(earlyStopped ? " (stopped early: no improvement in early_stopping_patience evaluations)" : "")}; " +
              $"loss {firstLoss:0.####} -> {finalLoss:0.####};{evalText} adapter written to {outputDir}" +
              (finalFrom is null ? "." : $" from the best checkpoint, {Path.GetFileName(finalFrom)}.");
        return new TrainingResult
        {
            Steps = step,
            TotalSteps = totalSteps,
            Epochs = Math.Round((double)step / stepsPerEpoch, 4),
            FirstLoss = firstLoss,
            FinalLoss = finalLoss,
            Seconds = elapsed,
            TokensPerSecond = elapsed > 0 ? trainedTokens / elapsed : 0,
            TrainedTokens = trainedTokens,
            TokenIndices = s.Identity.TokenIndices,
            AdapterFolder = adapterFolder,
            Checkpoints = saved,
            Cancelled = cancelled,
            Message = message,
            EvalLossBefore = evalLossBefore,
            EvalLoss = evalLoss,
            BestEvalLoss = bestEval,
            BestCheckpoint = bestCheckpoint is not null && Directory.Exists(bestCheckpoint) ? bestCheckpoint : null,
            EarlyStopped = earlyStopped,
            LossHistory = history.ToList(),
            MetricsFile = File.Exists(Path.Combine(outputDir, MetricsLog.FileName)) ? Path.Combine(outputDir, MetricsLog.FileName) : null,
            LossCurveFile = File.Exists(Path.Combine(outputDir, LossCurveSvg.FileName)) ? Path.Combine(outputDir, LossCurveSvg.FileName) : null,
        };
    }

    private static TrainingLogEntry EvalEntry(int step, double epoch, double loss, double elapsed) => new()
    {
        Step = step, Epoch = epoch, EvalLoss = loss, EvalPerplexity = Math.Exp(loss), ElapsedSeconds = elapsed,
    };

    /// <summary>A step's float32 loss sums per micro-batch and its gradient norm, still on the device (null without labels).</summary>
    private readonly record struct StepResult(Tensor? LossSums, long Labelled, long Tokens, Tensor? GradNorm);

    /// <summary>One optimiser step over the micro-batches of <paramref name="group"/>. The loss is the mean over every
    /// labelled token of the group (as Hugging Face does with num_items_in_batch), so accumulation does not change it.
    /// Nothing is read back from the device here: the counts come from the host, the loss and norm stay where they are.</summary>
    private static StepResult Step(CausalLanguageModel model, optim.Optimizer optimizer, IReadOnlyList<Parameter> parameters,
        IReadOnlyList<Batch> group, double learningRate, double maxGradNorm, bool gradientCheckpointing)
    {
        using var scope = NewDisposeScope();
        foreach (var g in optimizer.ParamGroups) g.LearningRate = learningRate;
        optimizer.zero_grad();
        long labelled = group.Sum(EvaluationLoss.Labelled), tokens = group.Sum(b => b.TokenCount);
        if (labelled == 0) return new StepResult(null, 0, tokens, null);
        var sums = new List<Tensor>();
        foreach (var batch in group)
        {
            using var inner = NewDisposeScope();
            sums.Add(BatchBackward.Run(model, batch, labelled, gradientCheckpointing).MoveToOuterDisposeScope());
        }
        // The norm before clipping, as Hugging Face logs it; computed the same way when clipping is off.
        var norm = GradientClipping.ClipGradNorm(parameters, maxGradNorm);
        optimizer.step();
        return new StepResult(stack(sums.ToArray()).DetachFromDisposeScope(), labelled, tokens, norm.DetachFromDisposeScope());
    }

    /// <summary>The mean loss per labelled token over the evaluation data, without gradients or dropout.</summary>
    private static double Evaluate(LoopSetup s, int batchSize)
    {
        s.Tuner.Training = false;
        try
        {
            var (total, labelled) = EvaluationLoss.Over(s.Model, s.Data.EvalBatches(batchSize, s.Device));
            return total / labelled;
        }
        finally
        {
            s.Tuner.Training = true;
        }
    }

    private static int StepOf(string checkpoint) =>
        int.Parse(Path.GetFileName(Path.TrimEndingDirectorySeparator(checkpoint))[Trainer.CheckpointPrefix.Length..], System.Globalization.CultureInfo.InvariantCulture);

    private static double? NullIfNaN(double value) => double.IsNaN(value) ? null : value;
}
