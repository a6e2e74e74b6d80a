using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;

namespace TrainableTokens.Core.Preflight;

/// <summary>
/// The checks that run before any training, all reported together: the config against its schema, then against the
/// model (token ids below the vocabulary size, target modules present and embeddings), the device and dtype, the
/// dataset file, and the output folder. Reads config.json and the checkpoint's headers, never the weights.
/// </summary>
public static class RunPreflight
{
    public static PreflightReport Check(PreflightRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var config = request.Config;
        var findings = new List<ConfigFinding>(config.Validate());
        // A field the schema checks already rejected is not checked again against the model, device or file system.
        var invalid = findings.Where(f => f.Severity == ConfigSeverity.Error).Select(f => f.Field).ToHashSet(StringComparer.Ordinal);
        var skipped = new List<string>();
        var baseDirectory = request.BaseDirectory
            ?? (config.Origin?.State.SourceName is { } source && Path.IsPathRooted(source) ? Path.GetDirectoryName(source) : null)
            ?? Directory.GetCurrentDirectory();
        var tokens = ConfigValidator.At(config.TrainableTokens?.Origin, "trainable_tokens");
        var training = ConfigValidator.At(config.Training?.Origin, "training");
        var train = config.Training ?? new TrainingConfig();

        var model = CheckModel(request, config, baseDirectory, invalid, tokens, training, skipped);
        CheckDevice(train, invalid, training);
        CheckDataset(request, train, baseDirectory, model, invalid, training, skipped);
        EvalDatasetCheck.Check(train, baseDirectory, invalid, training);
        CheckOutput(request, train, baseDirectory, invalid, training, skipped);

        findings.AddRange(tokens.Findings);
        findings.AddRange(training.Findings);
        var ordered = findings.Select((f, i) => (f, i))
            .OrderBy(x => x.f.Line ?? int.MaxValue).ThenBy(x => x.f.Column ?? 0).ThenBy(x => x.i)
            .Select(x => x.f).ToList();
        return new PreflightReport(ordered, skipped);
    }

    private static (string Folder, ModelConfig Config)? CheckModel(PreflightRequest request, RunConfig config, string baseDirectory,
        HashSet<string> invalid, ConfigValidator tokens, ConfigValidator training, List<string> skipped)
    {
        var folder = request.ModelFolder ?? config.Training?.BaseModel;
        if (folder is null)
        {
            skipped.Add("Model checks (token ids, target modules): no model; give training.base_model or -Model.");
            return null;
        }
        if (request.ModelFolder is null && invalid.Contains("training.base_model")) return null;
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

        var embedding = ModelArchitectures.InputEmbeddingPath(model.ModelType);
        var targets = config.TrainableTokens?.TargetModules;
        if (!invalid.Any(f => f.StartsWith("trainable_tokens.target_modules", StringComparison.Ordinal)))
        {
            var modules = TargetModuleMatcher.ModulePaths(weights, new[] { ModelArchitectures.LmHeadPath(model.ModelType) });
            IReadOnlyList<string> selected;
            try
            {
                selected = TargetModuleMatcher.Select(targets, modules, embedding);
            }
            catch (ArgumentException e)
            {
                tokens.Error("target_modules", $"target_modules '{targets}' is not a valid regular expression: {e.Message}");
                selected = new[] { embedding };
            }
            if (selected.Count == 0)
                tokens.Error("target_modules",
                    $"target_modules {Describe(targets)} matches no module of this {model.ModelType} model. Its input embedding is '{embedding}'; remove target_modules (or set it to null) to use it.");
            var others = selected.Where(m => m != embedding).ToList();
            if (others.Count > 0)
            {
                var named = string.Join(", ", others.Take(3).Select(m => $"'{m}'")) + (others.Count > 3 ? $" and {others.Count - 3} more" : "");
                tokens.Error("target_modules",
                    $"target_modules selects {named}, which {(others.Count == 1 ? "is" : "are")} not the input embedding. Trainable Tokens trains rows of '{embedding}'" +
                    (model.TieWordEmbeddings ? " (the tied LM head follows it)." : ".") + " Remove target_modules to use it.");
            }
        }

        if (config.Training is { } t && t.MaxSeqLength > model.MaxPositions && !invalid.Contains("training.max_seq_length"))
            training.Warning("max_seq_length", $"max_seq_length is {t.MaxSeqLength}, but the model handles at most {model.MaxPositions} positions; longer examples are cut to {model.MaxPositions}.");
        return (folder, model);
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

    private static void CheckDataset(PreflightRequest request, TrainingConfig train, string baseDirectory, (string Folder, ModelConfig Config)? model,
        HashSet<string> invalid, ConfigValidator training, List<string> skipped)
    {
        if (train.Dataset is null)
        {
            skipped.Add("Dataset checks: no training.dataset.");
            return;
        }
        if (invalid.Contains("training.dataset")) return;
        var path = Path.GetFullPath(train.Dataset, baseDirectory);
        var issues = DatasetFileCheck.Check(path);
        Report(training, "dataset", issues);
        if (issues.Any(i => i.Severity == ConfigSeverity.Error)) return;
        if (request.DatasetTokenization is null)
            skipped.Add("Dataset tokenisation (non-empty after tokenising): no tokenizer-backed check is available yet.");
        else if (model is null)
            skipped.Add("Dataset tokenisation: no model to take the tokenizer from.");
        else
            Report(training, "dataset", request.DatasetTokenization.Check(new DatasetTokenizationContext(model.Value.Folder, model.Value.Config, path, train)).ToList());
    }

    private static void CheckOutput(PreflightRequest request, TrainingConfig train, string baseDirectory, HashSet<string> invalid, ConfigValidator training, List<string> skipped)
    {
        if (train.OutputDir is null)
        {
            skipped.Add("Output folder checks: no training.output_dir.");
            return;
        }
        if (invalid.Contains("training.output_dir")) return;
        var folder = Path.GetFullPath(train.OutputDir, baseDirectory);
        foreach (var (key, message) in OutputFolderCheck.Check(folder, train.OverwriteOutputDir, train.ResumeFromCheckpoint is not null))
            training.Error(key, message);
        var inputs = new List<CommandInput>();
        if ((request.ModelFolder ?? train.BaseModel) is { } model) inputs.Add(new CommandInput("base model folder", Path.GetFullPath(model, baseDirectory)));
        if (train.Dataset is { } dataset) inputs.Add(new CommandInput("dataset", Path.GetFullPath(dataset, baseDirectory)));
        if (train.EvalDataset is { } evalDataset) inputs.Add(new CommandInput("eval dataset", Path.GetFullPath(evalDataset, baseDirectory)));
        if (request.Config.Origin?.State.SourceName is { } runFile && Path.IsPathRooted(runFile)) inputs.Add(new CommandInput("run file", runFile));
        try
        {
            OutputGuard.EnsureApart(folder, "training.output_dir", inputs);
        }
        catch (OutputConflictException e)
        {
            training.Error("output_dir", e.Message);
        }

        if (train.ResumeFromCheckpoint is not { } resume || invalid.Contains("training.resume_from_checkpoint")) return;
        if (resume == "latest")
        {
            var hasCheckpoint = Directory.Exists(folder) && Directory.EnumerateDirectories(folder, "checkpoint-*").Any();
            if (!hasCheckpoint)
                training.Error("resume_from_checkpoint", $"resume_from_checkpoint is 'latest', but '{folder}' holds no checkpoint-* folder to resume from. Remove the setting to start from the beginning.");
        }
        else if (!Directory.Exists(Path.GetFullPath(resume, baseDirectory)))
        {
            training.Error("resume_from_checkpoint", $"The checkpoint folder '{Path.GetFullPath(resume, baseDirectory)}' does not exist. Give a checkpoint folder, or 'latest'.");
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

    private static string Describe(StringOrList? targets) => targets is null ? "(the default)" : targets.IsList ? $"[{string.Join(", ", targets.Items!)}]" : $"'{targets.Text}'";
}
