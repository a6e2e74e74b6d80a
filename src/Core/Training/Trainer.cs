using System;
using System.IO;
using System.Threading;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Tokenization;
using TrainableTokens.Core.Training.Data;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Training;

/// <summary>
/// Trains a Trainable Tokens adapter from a run config, as Hugging Face's Trainer would: this part sets the run up
/// (checks, paths, data, model, adapter or the checkpoint resumed from), <see cref="TrainingLoop"/> trains. Checkpoints
/// go to output_dir/checkpoint-N (save_steps and the last step, keeping save_total_limit and the best), the final adapter,
/// metrics.jsonl and loss_curve.svg to output_dir; every folder and file appears complete or not at all. Cancelling
/// stops after the current step and writes nothing more.
/// </summary>
public static class Trainer
{
    public const string CheckpointPrefix = "checkpoint-";

    public static TrainingResult Run(TrainingRequest request, IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var config = request.Config;
        var train = config.Training ?? new TrainingConfig();
        if (request.OverwriteOutputDir) train = train with { OverwriteOutputDir = true };
        config = config with { Training = train };
        var baseDirectory = request.BaseDirectory
            ?? (config.Origin?.State.SourceName is { } source && Path.IsPathRooted(source) ? Path.GetDirectoryName(source) : null)
            ?? Directory.GetCurrentDirectory();
        var sourceName = config.Origin?.State.SourceName;

        // The cheap checks (schema, model headers, device, dataset file, output folder) again, so Core never trains on a bad run.
        var report = RunPreflight.Check(new PreflightRequest(config) { ModelFolder = request.ModelFolder, BaseDirectory = baseDirectory });
        if (report.HasErrors) throw new InvalidConfigException(report.Findings, sourceName);
        if (config.TrainableTokens is null) throw Missing("trainable_tokens", "Add a trainable_tokens section with token_indices.");
        var modelFolder = request.ModelFolder ?? train.BaseModel
            ?? throw Missing("training.base_model", "Set training.base_model in the run file, or give the model folder (-Model).");
        modelFolder = Path.GetFullPath(modelFolder, baseDirectory);
        var datasetFile = Path.GetFullPath(train.Dataset ?? throw Missing("training.dataset", "Set training.dataset to a JSON Lines file."), baseDirectory);
        var outputDir = Path.GetFullPath(train.OutputDir ?? throw Missing("training.output_dir", "Set training.output_dir to the folder the adapter goes to."), baseDirectory);
        // output_dir apart from the model, dataset and run file was checked by the preflight above.
        // The lock is held to the end; it also repairs what a killed run left in output_dir.
        using var output = new OutputFolder(outputDir, train.OverwriteOutputDir, train.SaveTotalLimit, resuming: train.ResumeFromCheckpoint is not null);
        // A damaged checkpoint is refused here, before anything is loaded or written.
        var resume = CheckpointFiles.Resolve(train.ResumeFromCheckpoint, output, baseDirectory);
        manual_seed(train.Seed);
        var device = new Device(train.Device);
        using var tokenizer = ModelTokenizer.Load(modelFolder);
        var dataset = TokenizedDataset.Build(tokenizer, DatasetReader.ReadFile(datasetFile),
            new DatasetOptions { MaxLength = train.MaxSeqLength }, datasetFile);
        if (dataset.Examples.Count == 0)
            throw new TrainingFailedException("EmptyDataset", ErrorKind.InvalidData, $"'{datasetFile}' has no examples to train on after tokenisation.", datasetFile);
        var data = TrainingData.Prepare(tokenizer, dataset, train, baseDirectory);

        using var model = ModelLoader.Load(modelFolder, ModelDtype.Parse(train.Dtype), device);
        using var tuner = new TrainableTokensModel(model);
        var adapterConfig = TrainableTokensAdapterConfig.FromJson(config.TrainableTokens.ToPeftJson(), sourceName ?? "trainable_tokens")
            with { BaseModelNameOrPath = modelFolder };
        var identity = new RunIdentity(adapterConfig.TokenIndices, modelFolder, ModelFingerprint.Of(modelFolder), data.TrainFingerprint, data.EvalFingerprint,
            train.Seed, train.PerDeviceTrainBatchSize, train.GradientAccumulationSteps);
        if (resume is { } from)
        {
            from.State.CheckMatches(from.Folder, identity);
            AdapterFolder.Load(tuner, from.Folder, request.AdapterName);
        }
        else
        {
            using var generator = new Generator((ulong)train.Seed);
            tuner.AddAdapter(request.AdapterName, adapterConfig, generator);
        }
        return TrainingLoop.Run(new LoopSetup
        {
            Train = train, Model = model, Tuner = tuner, AdapterName = request.AdapterName, Data = data, Device = device,
            Output = output, OutputDir = outputDir, Identity = identity, Resume = resume,
        }, progress, cancellation);
    }

    private static TrainingFailedException Missing(string field, string fix) =>
        new("MissingSetting", ErrorKind.InvalidArgument, $"The run has no {field}. {fix}", field);
}
