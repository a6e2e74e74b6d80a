using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using TorchSharp.Modules;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Tokenization;
using TrainableTokens.Core.Training.Data;
using TrainableTokens.Core.Tuners.TrainableTokens;
using TrainableTokens.Core.Untrained;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Training;

/// <summary>
/// Trains a Trainable Tokens adapter from a run config, as Hugging Face's Trainer would: AdamW on the adapter's rows
/// only, a warm-up and decay schedule, gradient accumulation and clipping, next-token cross-entropy with -100 ignored.
/// Checkpoints go to output_dir/checkpoint-N (save_steps, keeping save_total_limit), the final adapter to output_dir;
/// every folder and file appears complete or not at all. Cancelling stops after the current step and writes nothing more.
/// </summary>
public static class Trainer
{
    public const string CheckpointPrefix = "checkpoint-";

    /// <summary>Checks the run (as Test-TrainableTokensConfig does, every problem at once) and trains it.</summary>
    public static TrainingResult Run(TrainingRequest request, IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var report = RunPreflight.Check(new PreflightRequest(request.Config)
        {
            ModelFolder = request.ModelFolder,
            BaseDirectory = request.BaseDirectory,
            Overrides = request.Overrides with { OverwriteOutputDir = request.Overrides.OverwriteOutputDir || request.OverwriteOutputDir },
            ForTraining = true,
        });
        if (report.Run is null) throw new InvalidConfigException(report.Findings.Where(f => f.Severity == ConfigSeverity.Error).ToList(), request.Config.Origin?.State.SourceName);
        return Run(report.Run, request.AdapterName, progress, cancellation);
    }

    /// <summary>Trains a run the preflight prepared: its dataset is already tokenised and its paths resolved.</summary>
    public static TrainingResult Run(PreparedRun run, string adapterName = "default", IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        var train = run.Training;
        var outputDir = run.OutputDir;
        var dataset = run.Dataset;
        var adapterConfig = run.Adapter;
        // The lock is held to the end; it also repairs what a killed run left in output_dir.
        using var output = new OutputFolder(outputDir, train.OverwriteOutputDir, train.SaveTotalLimit, resuming: train.ResumeFromCheckpoint is not null);
        var resumeFrom = ResolveResume(train.ResumeFromCheckpoint, output, run.BaseDirectory);
        manual_seed(train.Seed);
        var device = new Device(train.Device);
        using var model = ModelLoader.Load(run.ModelFolder, ModelDtype.Parse(train.Dtype), device);
        using var tuner = new TrainableTokensModel(model);
        TrainerState? resumed = null;
        IReadOnlyList<MeanInitialisedRows> meanInitialised = [];
        if (resumeFrom is not null)
        {
            resumed = TrainerState.Read(resumeFrom);
            resumed.CheckMatches(resumeFrom, adapterConfig.TokenIndices, train.Seed);
            AdapterFolder.Load(tuner, resumeFrom, adapterName);
        }
        else
        {
            using var generator = new Generator((ulong)train.Seed);
            tuner.AddAdapter(adapterName, adapterConfig, generator);
            if (adapterConfig.InitWeights) meanInitialised = UntrainedRowInit.FromMean(tuner, adapterName);
        }
        var parameters = tuner.TrainableParameters(adapterName);

        var batchSize = train.PerDeviceTrainBatchSize;
        var accumulation = train.GradientAccumulationSteps;
        var batchesPerEpoch = (dataset.Examples.Count + batchSize - 1) / batchSize;
        var stepsPerEpoch = Math.Max(1, (batchesPerEpoch + accumulation - 1) / accumulation);
        var totalSteps = train.MaxSteps ?? (int)Math.Ceiling(train.NumTrainEpochs * stepsPerEpoch);
        var schedule = new LearningRateSchedule(train.LrSchedulerType, train.LearningRate,
            LearningRateSchedule.WarmupFor(train.WarmupSteps, train.WarmupRatio, totalSteps), totalSteps);

        using var optimizer = optim.AdamW(parameters, lr: train.LearningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: train.WeightDecay);
        if (resumeFrom is not null) OptimizerCheckpoint.Load(optimizer, resumeFrom);
        var clock = Stopwatch.StartNew();
        int step = resumed?.GlobalStep ?? 0, epoch = resumed?.EpochIndex ?? 0;
        double firstLoss = resumed?.FirstLoss ?? double.NaN, lastLoss = resumed?.LastLoss ?? double.NaN;
        long trainedTokens = resumed?.TrainedTokens ?? 0;
        var skip = resumed?.BatchesInEpoch ?? 0;
        var cancelled = false;
        try
        {
            while (step < totalSteps && !cancelled)
            {
                using var batches = dataset.Batches(batchSize, shuffle: true, seed: train.Seed + epoch, device: device).GetEnumerator();
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
                    double loss;
                    long tokens;
                    bool hasLabels;
                    try
                    {
                        // Inside the try: a batch that fails to collate must not leak the ones already made.
                        while (group.Count < accumulation && batches.MoveNext()) group.Add(batches.Current);
                        if (group.Count == 0) break;
                        (loss, tokens, hasLabels) = Step(model, optimizer, parameters, group, schedule.At(step), train.MaxGradNorm);
                    }
                    finally
                    {
                        foreach (var b in group) b.Dispose();
                    }
                    var seconds = stepClock.Elapsed.TotalSeconds;
                    bool noLabels = !hasLabels;
                    if (hasLabels && !double.IsFinite(loss))
                        throw new TrainingFailedException("LossNotFinite", ErrorKind.InvalidData,
                            $"The loss became {loss} at step {step + 1}. Lower learning_rate, or set max_grad_norm (for example 1.0). Nothing was written for this run after the last checkpoint.");
                    inEpoch += group.Count;
                    step++;
                    trainedTokens += tokens;
                    // A step whose tokens all lack labels (prompts longer than max_seq_length) has no loss: keep the last one.
                    if (!noLabels)
                    {
                        if (double.IsNaN(firstLoss)) firstLoss = loss;
                        lastLoss = loss;
                    }
                    string? checkpoint = null;
                    if (step % train.SaveSteps == 0 && step < totalSteps)
                    {
                        var state = new TrainerState
                        {
                            GlobalStep = step, MaxSteps = totalSteps, Epoch = Math.Round(epoch + (double)inEpoch / batchesPerEpoch, 4),
                            EpochIndex = epoch, BatchesInEpoch = inEpoch, FirstLoss = NullIfNaN(firstLoss), LastLoss = NullIfNaN(lastLoss),
                            TrainedTokens = trainedTokens, Seed = train.Seed, TokenIndices = adapterConfig.TokenIndices,
                        };
                        checkpoint = output.SaveCheckpoint(tuner, adapterName, step, folder =>
                        {
                            state.Write(folder);
                            OptimizerCheckpoint.Save(optimizer, folder);
                        });
                    }
                    progress?.Report(new TrainingProgress(step, totalSteps, epoch + (double)inEpoch / batchesPerEpoch, loss, schedule.At(step - 1),
                        seconds > 0 ? tokens / seconds : 0, clock.Elapsed,
                        step == 1 || step == totalSteps || step % train.LoggingSteps == 0, checkpoint));
                }
                epoch++;
            }
        }
        catch
        {
            // A failed run (full disk, a non-finite loss, ...) gives a previous run's output back, untouched.
            output.RestorePrevious();
            throw;
        }

        string? adapterFolder = null;
        var restored = false;
        if (!cancelled)
        {
            try
            {
                output.SaveFinal(tuner, adapterName);
            }
            catch
            {
                output.RestorePrevious();
                throw;
            }
            adapterFolder = outputDir;
        }
        else if (output.HasPrevious)
        {
            output.RestorePrevious();
            restored = true;
        }
        var elapsed = clock.Elapsed.TotalSeconds;
        var saved = output.Checkpoints;
        var message = cancelled
            ? $"Cancelled after {step} of {totalSteps} steps. " + (restored
                ? $"The previous run's checkpoints and adapter in {outputDir} were put back as they were."
                : saved.Count == 0
                ? "Nothing was written."
                : $"Saved checkpoints: {string.Join(", ", saved)}; the final adapter was not written. Set resume_from_checkpoint: latest to continue.")
            : $"Trained {step} steps in {elapsed:0.0} s; loss {firstLoss:0.####} -> {lastLoss:0.####}; adapter written to {outputDir}.";
        message += UntrainedRowInit.Describe(meanInitialised);
        return new TrainingResult
        {
            Steps = step,
            TotalSteps = totalSteps,
            Epochs = Math.Round((double)step / stepsPerEpoch, 4),
            FirstLoss = firstLoss,
            FinalLoss = lastLoss,
            Seconds = elapsed,
            TokensPerSecond = elapsed > 0 ? trainedTokens / elapsed : 0,
            TrainedTokens = trainedTokens,
            TokenIndices = adapterConfig.TokenIndices,
            AdapterFolder = adapterFolder,
            Checkpoints = saved,
            Cancelled = cancelled,
            MeanInitialisedTokens = UntrainedRowInit.TokenIds(meanInitialised),
            Message = message,
        };
    }

    /// <summary>One optimiser step over the micro-batches of <paramref name="group"/>. The loss is the mean over every
    /// labelled token of the group (as Hugging Face does with num_items_in_batch), so accumulation does not change it.</summary>
    private static (double Loss, long Tokens, bool HasLabels) Step(CausalLanguageModel model, optim.Optimizer optimizer, IReadOnlyList<Parameter> parameters,
        IReadOnlyList<Batch> group, double learningRate, double maxGradNorm)
    {
        using var scope = NewDisposeScope();
        foreach (var g in optimizer.ParamGroups) g.LearningRate = learningRate;
        optimizer.zero_grad();
        long labelled = 0, tokens = 0;
        foreach (var batch in group)
        {
            labelled += batch.Labels[.., 1..].ne(TokenizedExample.IgnoreIndex).sum().item<long>();
            tokens += batch.AttentionMask.sum().item<long>();
        }
        if (labelled == 0) return (double.NaN, tokens, false);
        double total = 0;
        foreach (var batch in group)
        {
            using var inner = NewDisposeScope();
            using var output = model.Forward(batch.InputIds, batch.AttentionMask);
            var vocab = output.Logits.shape[^1];
            var logits = output.Logits[.., ..^1, ..].to(ScalarType.Float32).reshape(-1, vocab);
            var labels = batch.Labels[.., 1..].reshape(-1);
            var sum = nn.functional.cross_entropy(logits, labels, ignore_index: TokenizedExample.IgnoreIndex, reduction: nn.Reduction.Sum);
            (sum / labelled).backward();
            total += sum.item<float>();
        }
        if (maxGradNorm > 0) nn.utils.clip_grad_norm_(parameters, maxGradNorm);
        optimizer.step();
        return (total / labelled, tokens, true);
    }

    private static double? NullIfNaN(double value) => double.IsNaN(value) ? null : value;

    /// <summary>The checkpoint folder to resume from: "latest" is the newest complete checkpoint in output_dir.</summary>
    private static string? ResolveResume(string? setting, OutputFolder output, string baseDirectory)
    {
        if (setting is null) return null;
        if (string.Equals(setting, "latest", StringComparison.OrdinalIgnoreCase))
        {
            var newest = output.ExistingCheckpoints();
            if (newest.Count == 0)
                throw new TrainingFailedException("NoCheckpoint", ErrorKind.ObjectNotFound,
                    "resume_from_checkpoint is 'latest', but output_dir has no complete checkpoint-N folder. Remove resume_from_checkpoint to start from the beginning.",
                    "training.resume_from_checkpoint");
            return newest[^1].Path;
        }
        var folder = Path.GetFullPath(setting, baseDirectory);
        if (!File.Exists(Path.Combine(folder, TrainerState.FileName)))
            throw new TrainingFailedException("NoCheckpoint", ErrorKind.ObjectNotFound,
                $"resume_from_checkpoint '{folder}' is not a checkpoint folder (it has no {TrainerState.FileName}). Give a checkpoint-N folder this module wrote, or 'latest'.",
                "training.resume_from_checkpoint");
        return folder;
    }
}
