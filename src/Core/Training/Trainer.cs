using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Tuners.TrainableTokens;
using TrainableTokens.Core.Untrained;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Training;

/// <summary>
/// Trains a Trainable Tokens adapter as Hugging Face's Trainer would. The preflight prepares the run (checks, paths,
/// tokenised train and eval data); this part loads the model and the adapter (or the checkpoint resumed from) and
/// <see cref="TrainingLoop"/> trains. Checkpoints go to output_dir/checkpoint-N (save_steps and the last step, keeping
/// save_total_limit and the best), the final adapter, metrics.jsonl and loss_curve.svg to output_dir; every folder and
/// file appears complete or not at all. Cancelling stops after the current step and writes nothing more.
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

    /// <summary>Trains a run the preflight prepared: its data is already tokenised and split, its paths resolved.</summary>
    public static TrainingResult Run(PreparedRun run, string adapterName = "default", IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        var train = run.Training;
        // The lock is held to the end; it also repairs what a killed run left in output_dir.
        using var output = new OutputFolder(run.OutputDir, train.OverwriteOutputDir, train.SaveTotalLimit, resuming: train.ResumeFromCheckpoint is not null);
        // Checked by the preflight too; again under the lock, as another run may have written output_dir since.
        var resume = CheckpointFiles.Resolve(train.ResumeFromCheckpoint, output, run.BaseDirectory);
        manual_seed(train.Seed);
        var device = new Device(train.Device);
        using var model = ModelLoader.Load(run.ModelFolder, ModelDtype.Parse(train.Dtype), device);
        IReadOnlyList<MeanInitialisedRows> meanInitialised = [];
        if (resume is { } from) from.State.CheckMatches(from.Folder, run.Identity);
        using ITrainingTuner tuner = run.LoraAdapter is { } lora
            ? resume is { } checkpoint ? LoraTraining.Resume(model, adapterName, checkpoint.Folder) : LoraTraining.Start(model, adapterName, lora, train.Seed)
            : StartTokens(run, model, adapterName, resume?.Folder, out meanInitialised);
        var result = TrainingLoop.Run(new LoopSetup
        {
            Train = train, Model = model, Tuner = tuner, Data = run.Data, Device = device,
            Output = output, OutputDir = run.OutputDir, Identity = run.Identity, Resume = resume,
        }, progress, cancellation);
        return meanInitialised.Count == 0 ? result : result with
        {
            MeanInitialisedTokens = UntrainedRowInit.TokenIds(meanInitialised),
            Message = result.Message + UntrainedRowInit.Describe(meanInitialised),
        };
    }

    /// <summary>The Trainable Tokens adapter: the checkpoint's, or a new one whose untrained rows start from the mean.</summary>
    private static TrainableTokensTraining StartTokens(PreparedRun run, CausalLanguageModel model, string adapterName, string? checkpoint,
        out IReadOnlyList<MeanInitialisedRows> meanInitialised)
    {
        meanInitialised = [];
        var adapter = run.Adapter!;
        var tuner = new TrainableTokensModel(model);
        try
        {
            if (checkpoint is not null)
            {
                AdapterFolder.Load(tuner, checkpoint, adapterName);
            }
            else
            {
                using var generator = new Generator((ulong)run.Training.Seed, CPU);
                tuner.AddAdapter(adapterName, adapter, generator);
                // The preflight's scan says whether any trained row starts untrained; only then is the loaded weight scanned again.
                if (adapter.InitWeights && (run.UntrainedTokenIds is not { } untrained || adapter.TokenIndices.Any(untrained.Contains)))
                    meanInitialised = UntrainedRowInit.FromMean(tuner, adapterName);
            }
            return new TrainableTokensTraining(tuner, adapterName);
        }
        catch
        {
            tuner.Dispose();
            throw;
        }
    }
}
