using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Training;

namespace TrainableTokens.Core.Jobs;

/// <summary>
/// Export-TokenTrainingJob's engine: checks the run as Start-TokenTraining would (less this machine's device and
/// memory: the job trains elsewhere), tokenises its data as the engine does, and writes a job folder that Hugging
/// Face's Trainer + PEFT runs under accelerate (<see cref="JobLayout"/>). <see cref="Plan"/> checks everything and
/// writes nothing (-WhatIf stops there); <see cref="Write"/> writes the folder atomically.
/// </summary>
public static class JobExporter
{
    /// <summary>The command name recorded in the folder's marker: -Force replaces only a job folder this command wrote.</summary>
    public const string Writer = "Export-TokenTrainingJob";

    public static JobExportPlan Plan(JobExportRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Processes < 1) throw new ArgumentOutOfRangeException(nameof(request), "A job needs at least one process per node (-Processes).");
        if (request.Nodes < 1) throw new ArgumentOutOfRangeException(nameof(request), "A job needs at least one node (-Nodes).");
        var output = Path.TrimEndingDirectorySeparator(Path.GetFullPath(request.OutputPath));
        var original = request.Config;
        EnsureApart(output, Inputs(original, request));
        if (request.Overwrite) EnsureOnlyExported(output);
        // The job writes into its own output folder and starts from the beginning; the run file's own output_dir and
        // checkpoint are this machine's, so the preflight checks the job's instead.
        var config = original with
        {
            Training = (original.Training ?? new TrainingConfig()) with { ResumeFromCheckpoint = null, OverwriteOutputDir = false },
        };
        var overrides = (request.Overrides ?? new RunOverrides()) with
        {
            OutputDir = Path.Combine(output, JobLayout.OutputFolder),
            Parameters = new Dictionary<string, string>((request.Overrides?.Parameters ?? new Dictionary<string, string>()))
            {
                ["training.output_dir"] = "-OutputPath",
            },
        };
        var report = RunPreflight.Check(new PreflightRequest(config)
        {
            Overrides = overrides,
            BaseDirectory = request.BaseDirectory,
            ForTraining = true,
            ChecksThisMachine = false,
        });
        if (report.HasErrors || report.Run is null)
            throw new InvalidConfigException(report.Findings, request.RunFile ?? original.Origin?.State.SourceName);
        var run = report.Run;

        var eval = EvaluationPlan.For(run.Training, run.Data.Eval.Count > 0);
        var warnings = JobWarnings.For(run, original, eval, request.Engine);
        var world = request.Processes * request.Nodes;
        var batching = JobBatching.For(run.Training, run.Data.Train.Count, world, warnings);
        var arguments = JobArguments.For(run.Training, batching, eval, warnings);
        var adapterConfig = JobSettings.AdapterConfig(run);
        var initialRows = JobInitialRows.Needed(run);
        var job = new JsonObject
        {
            ["format"] = JobLayout.Format,
            ["kind"] = JobLayout.Kind,
            ["exported_by"] = request.ExportedBy,
            ["method"] = JobSettings.PeftType(run),
            ["base_model"] = run.ModelFolder,
            ["dtype"] = run.Training.Dtype,
            ["peft_config"] = JobSettings.PeftArguments(run, adapterConfig),
            ["adapter_config"] = adapterConfig,
            ["training_arguments"] = arguments,
            ["early_stopping"] = eval.Patience is { } patience && eval.LoadBestAtEnd
                ? new JsonObject { ["patience"] = patience, ["threshold"] = eval.Threshold }
                : null,
            ["evaluate_before_training"] = eval.Enabled,
            ["evaluate_after_training"] = eval.Enabled,
            ["data"] = new JsonObject
            {
                ["train"] = JobLayout.TrainData,
                ["eval"] = run.Data.Eval.Count > 0 ? JobLayout.EvalData : null,
                ["order"] = JobLayout.TrainOrder,
                ["pad_token_id"] = run.Data.PadTokenId,
                ["train_examples"] = run.Data.Train.Count,
                ["eval_examples"] = run.Data.Eval.Count,
            },
            ["initial_rows"] = initialRows ? new JsonObject { ["file"] = JobLayout.InitialRows } : null,
            ["float32_trainable"] = !(run.LoraAdapter is not null && request.Engine == JobEngine.Fsdp && run.Training.Dtype != "float32"),
            ["mixed_precision"] = JobFiles.MixedPrecisionFor(request.Engine, run),
            ["engine"] = request.Engine == JobEngine.Fsdp ? "fsdp" : "deepspeed",
            ["processes"] = request.Processes,
            ["nodes"] = request.Nodes,
            ["warnings"] = new JsonArray(warnings.Select(w => (JsonNode?)new JsonObject { ["setting"] = w.Setting, ["message"] = w.Message }).ToArray()),
        };
        return new JobExportPlan(request, output, run, job, warnings, batching, initialRows);
    }

    /// <summary>Writes the job folder of <paramref name="plan"/>, atomically: it appears complete or not at all.</summary>
    public static JobExportResult Write(JobExportPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var output = plan.OutputPath;
        if (plan.Request.Overwrite) EnsureOnlyExported(output);
        var files = new List<string>();
        AtomicFolder.Write(output, temp =>
        {
            void Text(string name, string text)
            {
                var path = Path.Combine(temp, name);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, text, new UTF8Encoding(false));
                files.Add(name);
            }
            Text(JobLayout.JobFile, JobFiles.Json(plan.Job) + "\n");
            if (plan.Request.RunFile is { } runFile)
            {
                File.Copy(runFile, Path.Combine(temp, JobLayout.RunFileCopy));
                files.Add(JobLayout.RunFileCopy);
            }
            Text(JobLayout.TrainScript, JobTemplates.Read("train.py"));
            Text(JobLayout.Requirements, JobFiles.Requirements(plan.Request.Engine));
            foreach (var (name, text) in JobFiles.AccelerateConfigs(plan))
                Text(name, text);
            Text(JobLayout.KubernetesJob, JobFiles.Kubernetes(plan));
            files.AddRange(JobData.Write(temp, plan.Run, plan.Batching.Plan.Epochs));
            if (plan.InitialRows)
            {
                JobData.WriteInitialRows(temp, plan.Run);
                files.Add(JobLayout.InitialRows);
            }
            Text(JobLayout.Readme, JobReadme.Render(plan));
        }, plan.Request.Overwrite, Writer);
        return new JobExportResult
        {
            Path = output,
            Method = plan.Job["method"]!.GetValue<string>(),
            Engine = plan.Request.Engine,
            Processes = plan.Request.Processes,
            Nodes = plan.Request.Nodes,
            BaseModel = plan.Run.ModelFolder,
            TrainExamples = plan.Run.Data.Train.Count,
            EvalExamples = plan.Run.Data.Eval.Count,
            MaxSteps = plan.Batching.Plan.TotalSteps,
            EffectiveBatchSize = plan.Batching.PerDeviceBatchSize * plan.Batching.GradientAccumulationSteps * plan.World,
            LaunchCommand = JobFiles.LaunchCommand(plan, multiNode: false),
            Warnings = plan.Warnings,
            Files = files.Order(StringComparer.Ordinal).ToList(),
        };
    }

    /// <summary>The job folder must not be, hold or lie inside the model, the data or the run file: checked first, so
    /// that this is the error even when the job's output folder inside it would overlap too.</summary>
    private static void EnsureApart(string output, IEnumerable<CommandInput> inputs) => OutputGuard.EnsureApart(output, "-OutputPath", inputs);

    private static IEnumerable<CommandInput> Inputs(RunConfig config, JobExportRequest request)
    {
        var baseDirectory = request.BaseDirectory ?? Directory.GetCurrentDirectory();
        var train = config.Training;
        string? At(string? path) => path is null ? null : Path.GetFullPath(path, baseDirectory);
        if (At(request.Overrides?.BaseModel ?? train?.BaseModel) is { } model) yield return new CommandInput("base model folder", model);
        if (At(request.Overrides?.Dataset ?? train?.Dataset) is { } dataset) yield return new CommandInput("dataset", dataset);
        if (At(train?.EvalDataset) is { } eval) yield return new CommandInput("eval dataset", eval);
        if (request.RunFile is { } runFile) yield return new CommandInput("run file", runFile);
    }

    /// <summary>
    /// -Force replaces a job folder only while it holds nothing but what the export wrote: a job that has run keeps its
    /// adapter and checkpoints in output/, and a file the user added is theirs.
    /// </summary>
    private static void EnsureOnlyExported(string output)
    {
        if (!Directory.Exists(output)) return;
        var ours = new HashSet<string>(StringComparer.Ordinal)
        {
            JobLayout.JobFile, JobLayout.RunFileCopy, JobLayout.TrainScript, JobLayout.Requirements, JobLayout.Readme,
            JobLayout.AccelerateFolder, "data", "kubernetes", AtomicFolder.MarkerFileName,
        };
        var foreign = Directory.EnumerateFileSystemEntries(output).Select(Path.GetFileName).Where(n => !ours.Contains(n!)).Order(StringComparer.Ordinal).ToList();
        if (foreign.Count > 0)
            throw new OutputConflictException(
                $"'{output}' holds {string.Join(", ", foreign.Take(5).Select(n => $"'{n}'"))}{(foreign.Count > 5 ? $" and {foreign.Count - 5} more" : "")}, which the export did not write " +
                $"(a job's {JobLayout.OutputFolder}/ holds its adapter and checkpoints). Nothing was written. Move them, or export to another folder.",
                output, "JobFolderInUse");
    }
}
