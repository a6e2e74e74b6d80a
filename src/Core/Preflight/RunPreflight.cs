using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Training;
using TrainableTokens.Core.Training.Data;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Core.Preflight;

/// <summary>
/// The checks that run before any training, all reported together: the config (with the start's overrides in place)
/// against its schema, then against the model (token ids below the vocabulary size, target modules present), the
/// device and dtype, the dataset (read and tokenised once, as training uses it), the output folder and the checkpoint
/// to resume from. Reads config.json and the checkpoint's headers; of the weights, only the embedding (and head) rows, for the untrained-token warnings, when the dataset is tokenised. When nothing stands in the way
/// the report carries the <see cref="PreparedRun"/> the trainer takes: one way through, nothing checked twice.
/// </summary>
public static class RunPreflight
{
    public static PreflightReport Check(PreflightRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var overrides = request.Overrides ?? new RunOverrides();
        if (request.ModelFolder is not null) overrides = overrides with { BaseModel = request.ModelFolder };
        var config = overrides.ApplyTo(request.Config);
        var findings = new List<ConfigFinding>(config.Validate());
        // A field the schema checks already rejected is not checked again against the model, device or file system.
        var invalid = findings.Where(f => f.Severity == ConfigSeverity.Error).Select(f => f.Field).ToHashSet(StringComparer.Ordinal);
        var skipped = new List<string>();
        var baseDirectory = request.BaseDirectory
            ?? (config.Origin?.State.SourceName is { } source && Path.IsPathRooted(source) ? Path.GetDirectoryName(source) : null)
            ?? Directory.GetCurrentDirectory();
        var tokens = ConfigValidator.At(config.TrainableTokens?.Origin, "trainable_tokens");
        var lora = ConfigValidator.At(config.Lora?.Origin, "lora");
        var training = ConfigValidator.At(config.Training?.Origin, "training");
        var train = config.Training!;
        var missing = request.ForTraining ? (Action<ConfigValidator, string, string>)((v, k, m) => v.Error(k, m)) : (v, k, m) => v.Warning(k, m);

        var model = CheckModel(config, baseDirectory, invalid, tokens, training, skipped, missing);
        if (model is not null && config.Lora is { } section && config.TrainableTokens is null) LoraModelCheck.Check(section, model.Value.Config, invalid, lora);
        if (request.ChecksThisMachine)
        {
            CheckDevice(train, invalid, training);
            CheckLoadable(model, train, invalid, training);
        }
        else skipped.Add("Device and memory checks: the run trains on another machine.");
        if (!EvalDatasetCheck.Check(train, baseDirectory, invalid, training)) invalid.Add("training.eval_dataset");
        var dataset = CheckDataset(request, train, baseDirectory, model, invalid, training, skipped, missing);
        var untrained = UntrainedTokenCheck.Report(request, config, model, dataset?.Dataset, invalid, tokens, training);
        var data = PrepareData(dataset, train, invalid, training);
        // A LoRA run's adapter as it will be saved; its token ids (trainable_token_indices, maybe none) are part of what a checkpoint must match.
        var loraAdapter = config.Lora is { } l && model is not null && !invalid.Any(f => f.StartsWith("lora.", StringComparison.Ordinal)) && !lora.HasErrors
            ? l.ToTunerConfig(model.Value.Folder) : null;
        var tokenIds = loraAdapter is not null ? config.Lora!.TokenIds() : config.TrainableTokens?.TokenIndices.Select(i => (long)i).ToList();
        var identity = data is null || model is null || tokenIds is null ? null
            : new RunIdentity(tokenIds, model.Value.Folder, ModelFingerprint.Of(model.Value.Folder),
                data.TrainFingerprint, data.EvalFingerprint, train.Seed, train.PerDeviceTrainBatchSize, train.GradientAccumulationSteps)
            {
                PeftType = loraAdapter is not null ? Tuners.Lora.LoraConfig.PeftType : TrainableTokensAdapterConfig.PeftType,
                Lora = loraAdapter,
            };
        var outputDir = CheckOutput(request, config, baseDirectory, invalid, training, skipped, missing, identity);

        findings.AddRange(tokens.Findings);
        findings.AddRange(lora.Findings);
        findings.AddRange(training.Findings);
        var read = new HashSet<ConfigFinding>(config.Origin?.State.Findings ?? []);
        var ordered = findings.Select((f, i) => (f, i))
            .OrderBy(x => x.f.Line ?? int.MaxValue).ThenBy(x => x.f.Column ?? 0).ThenBy(x => x.i)
            // What reading the file found is about the file's text (a value that is not a number, say): it keeps its line.
            .Select(x => read.Contains(x.f) ? x.f : overrides.Rename(x.f)).ToList();
        var report = new PreflightReport(ordered, skipped);
        if (report.HasErrors || (config.TrainableTokens is null && loraAdapter is null) || model is null || dataset is null || data is null || identity is null || outputDir is null) return report;
        var adapter = config.TrainableTokens is null ? null : TrainableTokensAdapterConfig.From(config.TrainableTokens) with { BaseModelNameOrPath = model.Value.Folder };
        return report with
        {
            Run = new PreparedRun(config, adapter, model.Value.Folder, model.Value.Config, dataset.Value.File, dataset.Value.Dataset, data, identity,
                outputDir, baseDirectory, ordered) { UntrainedTokenIds = untrained, LoraAdapter = adapter is null ? loraAdapter : null },
        };
    }

    private static (string Folder, ModelConfig Config)? CheckModel(RunConfig config, string baseDirectory, HashSet<string> invalid,
        ConfigValidator tokens, ConfigValidator training, List<string> skipped, Action<ConfigValidator, string, string> missing)
    {
        var folder = config.Training?.BaseModel;
        if (folder is null)
        {
            missing(training, "base_model", "The run has no base_model. Set training.base_model to a Hugging Face model folder, or give it when training starts (-Model).");
            skipped.Add("Model checks (token ids, target modules): no model; give training.base_model or -Model.");
            return null;
        }
        if (invalid.Contains("training.base_model")) return null;
        folder = Path.GetFullPath(folder, baseDirectory);
        ModelConfig model;
        IReadOnlyList<string> weights;
        try
        {
            model = ModelConfigReader.ReadFolder(folder);
            using var checkpoint = Checkpoint.OpenFolder(folder);
            weights = checkpoint.Names.ToList();
        }
        catch (TrainableTokensException e)
        {
            training.Error("base_model", e.Message);
            return null;
        }

        var indices = config.TrainableTokens?.TokenIndices;
        if (indices is not null)
        {
            for (var i = 0; i < indices.Count; i++)
            {
                if (indices[i] >= model.VocabSize)
                    tokens.Error("token_indices",
                        $"Token id {indices[i]} is not in the model's vocabulary (ids 0 to {model.VocabSize - 1}). Use ids from the model's tokenizer, or add the tokens and resize the embedding first.",
                        i);
            }
        }

        if (!invalid.Any(f => f.StartsWith("trainable_tokens.target_modules", StringComparison.Ordinal)))
            TargetModuleCheck.Check(config.TrainableTokens?.TargetModules, model, weights, tokens);

        if (config.Training is { } t && t.MaxSeqLength > model.MaxPositions && !invalid.Contains("training.max_seq_length"))
            training.Warning("max_seq_length", $"max_seq_length is {t.MaxSeqLength}, but the model handles at most {model.MaxPositions} positions; longer examples are cut to {model.MaxPositions}.");
        return (folder, model);
    }

    /// <summary>What loading the model would refuse: a weight missing or misshapen, or too little memory on the device.</summary>
    private static void CheckLoadable((string Folder, ModelConfig Config)? model, TrainingConfig train, HashSet<string> invalid, ConfigValidator training)
    {
        if (model is null || training.HasErrors || invalid.Contains("training.device") || invalid.Contains("training.dtype")) return;
        var device = train.Device.Split(':');
        var index = device.Length > 1 && int.TryParse(device[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i) ? i : -1;
        if (ModelLoader.WhyNotLoadable(model.Value.Folder, ModelDtype.Parse(train.Dtype), device[0], index) is { } problem)
            training.Error(problem is NotEnoughMemoryException ? "device" : "base_model", problem.Message);
    }

    private static void CheckDevice(TrainingConfig train, HashSet<string> invalid, ConfigValidator training)
    {
        if (invalid.Contains("training.device") || invalid.Contains("training.dtype")) return;
        foreach (var (key, severity, message) in DeviceCheck.Check(train.Device, train.Dtype))
        {
            if (severity == ConfigSeverity.Error) training.Error(key, message);
            else training.Warning(key, message);
        }
    }

    private static (string File, TokenizedDataset Dataset, TokenizedDataset? Eval, string? EvalPath)? CheckDataset(PreflightRequest request, TrainingConfig train, string baseDirectory,
        (string Folder, ModelConfig Config)? model, HashSet<string> invalid, ConfigValidator training, List<string> skipped, Action<ConfigValidator, string, string> missing)
    {
        if (train.Dataset is null)
        {
            missing(training, "dataset", "The run has no dataset. Set training.dataset to a JSON Lines file, or give it when training starts (-Dataset).");
            skipped.Add("Dataset checks: no training.dataset.");
            return null;
        }
        if (invalid.Contains("training.dataset")) return null;
        var path = Path.GetFullPath(train.Dataset, baseDirectory);
        var issues = DatasetFileCheck.Check(path);
        Report(training, "dataset", issues);
        if (issues.Any(i => i.Severity == ConfigSeverity.Error)) return null;
        if (!request.TokenizeDataset)
        {
            skipped.Add("Dataset tokenisation (non-empty after tokenising): not asked for.");
            return null;
        }
        if (model is null)
        {
            skipped.Add("Dataset tokenisation: no model to take the tokenizer from.");
            return null;
        }
        var evalPath = train.EvalDataset is { } e && !invalid.Contains("training.eval_dataset") ? Path.GetFullPath(e, baseDirectory) : null;
        var tokenised = TokenizedDatasetCheck.Tokenize(new DatasetTokenizationContext(model.Value.Folder, model.Value.Config, path, train) { EvalDatasetPath = evalPath });
        Report(training, "dataset", tokenised.Issues);
        Report(training, "eval_dataset", tokenised.EvalIssues);
        return tokenised.Dataset is null || (evalPath is not null && tokenised.EvalDataset is null) ? null : (path, tokenised.Dataset, tokenised.EvalDataset, evalPath);
    }

    /// <summary>The train and eval parts (eval_split held out, or eval_dataset); problems are findings on those settings.</summary>
    private static TrainingData? PrepareData((string File, TokenizedDataset Dataset, TokenizedDataset? Eval, string? EvalPath)? dataset, TrainingConfig train,
        HashSet<string> invalid, ConfigValidator training)
    {
        if (dataset is not { } d || invalid.Contains("training.eval_split")) return null;
        try
        {
            return TrainingData.Prepare(d.Dataset, d.Eval, d.EvalPath, train);
        }
        catch (TrainableTokensException e)
        {
            training.Error(d.Eval is null ? "eval_split" : "eval_dataset", e.Message);
            return null;
        }
    }

    private static string? CheckOutput(PreflightRequest request, RunConfig config, string baseDirectory, HashSet<string> invalid, ConfigValidator training,
        List<string> skipped, Action<ConfigValidator, string, string> missing, RunIdentity? identity)
    {
        var train = config.Training!;
        if (train.OutputDir is null)
        {
            missing(training, "output_dir", "The run has no output_dir. Set training.output_dir to the folder the adapter goes to, or give it when training starts (-OutputPath).");
            skipped.Add("Output folder checks: no training.output_dir.");
            return null;
        }
        if (invalid.Contains("training.output_dir")) return null;
        var folder = Path.GetFullPath(train.OutputDir, baseDirectory);
        foreach (var (key, message) in OutputFolderCheck.Check(folder, train.OverwriteOutputDir, train.ResumeFromCheckpoint is not null))
            training.Error(key, message);
        var inputs = new List<CommandInput>();
        if (train.BaseModel is { } model) inputs.Add(new CommandInput("base model folder", Path.GetFullPath(model, baseDirectory)));
        if (train.Dataset is { } dataset) inputs.Add(new CommandInput("dataset", Path.GetFullPath(dataset, baseDirectory)));
        if (train.EvalDataset is { } evalDataset) inputs.Add(new CommandInput("eval dataset", Path.GetFullPath(evalDataset, baseDirectory)));
        if (config.Origin?.State.SourceName is { } runFile && Path.IsPathRooted(runFile)) inputs.Add(new CommandInput("run file", runFile));
        try
        {
            OutputGuard.EnsureApart(folder, "training.output_dir", inputs);
        }
        catch (OutputConflictException e)
        {
            training.Error("output_dir", e.Message);
        }
        if (train.ResumeFromCheckpoint is { } resume && !invalid.Contains("training.resume_from_checkpoint"))
            CheckResume(resume, folder, baseDirectory, identity, training);
        return folder;
    }

    /// <summary>The checkpoint to resume from exists, is complete and undamaged, and belongs to this run (same tokens,
    /// model, data and seed): what the trainer would refuse, found before anything is loaded.</summary>
    private static void CheckResume(string resume, string outputDir, string baseDirectory, RunIdentity? identity, ConfigValidator training)
    {
        try
        {
            if (CheckpointFiles.Resolve(resume, outputDir, baseDirectory) is { } from && identity is not null)
                from.State.CheckMatches(from.Folder, identity);
        }
        catch (TrainableTokensException e)
        {
            training.Error("resume_from_checkpoint", e.Message);
        }
    }

    private static void Report(ConfigValidator training, string key, IReadOnlyList<DatasetIssue> issues)
    {
        foreach (var issue in issues)
        {
            if (issue.Severity == ConfigSeverity.Error) training.Error(key, issue.Message);
            else training.Warning(key, issue.Message);
        }
    }
}
