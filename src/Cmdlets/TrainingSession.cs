using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Training;

namespace TrainableTokens.Cmdlets;

/// <summary>One step's numbers, in cmdlet-side types, queued from the training thread to the pipeline thread.</summary>
internal sealed record TrainingUpdate(int Step, int TotalSteps, double Epoch, double Loss, double LearningRate,
    double TokensPerSecond, TimeSpan Elapsed, bool IsLoggingStep, string? Checkpoint, double? EvalLoss);

/// <summary>A preflight finding, in cmdlet-side types: the finding object itself rides along as the error's target.</summary>
internal sealed record PreflightLine(bool IsError, string Field, string Text, object Finding);

/// <summary>A checked run: what the preflight found, and the prepared run (an engine object) when it can train.</summary>
internal sealed record CheckedRun(IReadOnlyList<PreflightLine> Lines, IReadOnlyList<object> Findings, IReadOnlyList<string> Skipped,
    string OutputDir, string Summary, object? Run);

/// <summary>
/// The bridge between the run cmdlets and the engine. Engine types appear only inside these non-inlined methods, so
/// PowerShell never resolves them while it binds a cmdlet. The run file is read once and checked once; the prepared
/// run the check returns is what training takes.
/// </summary>
internal static class TrainingSession
{
    /// <summary>Reads the run (a run file, or a RunConfig object from New-TrainableTokensConfig), applies the
    /// command line's settings and checks it all, as training would.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static CheckedRun Check(string? runFile, object? configObject, RunSettings settings, string currentDirectory, bool forTraining)
    {
        var config = runFile is not null ? RunConfig.Load(runFile) : AsRunConfig(configObject);
        var overrides = new RunOverrides
        {
            BaseModel = settings.Model,
            Dataset = settings.Dataset,
            OutputDir = settings.OutputPath,
            MaxSteps = settings.MaxSteps,
            NumTrainEpochs = settings.NumTrainEpochs,
            LearningRate = settings.LearningRate,
            PerDeviceTrainBatchSize = settings.BatchSize,
            Device = settings.Device,
            Dtype = settings.Dtype,
            Seed = settings.Seed,
            ResumeFromCheckpoint = settings.Resume,
            OverwriteOutputDir = settings.Force,
            Parameters = RunSettings.Parameters,
        };
        // A config made in the session has no file: its relative paths are relative to the current location.
        var baseDirectory = runFile is not null ? System.IO.Path.GetDirectoryName(runFile)! : currentDirectory;
        var report = RunPreflight.Check(new PreflightRequest(config) { Overrides = overrides, BaseDirectory = baseDirectory, ForTraining = forTraining });
        var lines = report.Findings
            .Select(f => new PreflightLine(f.Severity == ConfigSeverity.Error, f.Field, f.ToString(), f))
            .ToList();
        var train = overrides.ApplyTo(config).Training!;
        var output = train.OutputDir is null ? "(no output_dir)" : System.IO.Path.GetFullPath(train.OutputDir, baseDirectory);
        var steps = train.MaxSteps is { } m ? $"{m} steps" : $"{train.NumTrainEpochs} epochs";
        var ids = string.Join(", ", config.TrainableTokens?.TokenIndices ?? new List<int>());
        var resume = train.ResumeFromCheckpoint is { } r ? $", resuming from {r}" : "";
        var what = config.Lora is { } lora
            ? $"a LoRA adapter (r {lora.R}, target_modules {lora.TargetModules?.ToString() ?? "q_proj, v_proj"}{(lora.TrainableTokenIndices is null ? "" : ", with token rows")})"
            : $"token rows {ids}";
        var summary = $"Train {what} of {train.BaseModel} for {steps} on {train.Device}{resume}";
        return new CheckedRun(lines, report.Findings.Cast<object>().ToList(), report.Skipped, output, summary, report.Run);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static Task<object> Start(object run, BlockingCollection<TrainingUpdate> updates, CancellationToken cancellation)
    {
        var prepared = (PreparedRun)run;
        var progress = new QueueProgress(updates);
        var task = Task.Run(() => (object)Trainer.Run(prepared, progress: progress, cancellation: cancellation), CancellationToken.None);
        task.ContinueWith(_ => updates.CompleteAdding(), TaskScheduler.Default);
        return task;
    }

    /// <summary>Whether an object (from the pipeline) is a run config: then -Config takes it, else it names a run file.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static bool IsRunConfig(object? value) => value is RunConfig;

    private static RunConfig AsRunConfig(object? value) => value as RunConfig
        ?? throw new ArgumentException($"-Config takes a run config from New-TrainableTokensConfig, not a {value?.GetType().Name ?? "null"}. Give a run file with -Path.");

    private sealed class QueueProgress(BlockingCollection<TrainingUpdate> updates) : IProgress<TrainingProgress>
    {
        // TryAdd: after a stop nobody reads the queue any more, and progress must never fail the training step.
        public void Report(TrainingProgress p)
        {
            if (!updates.IsAddingCompleted)
                updates.TryAdd(new TrainingUpdate(p.Step, p.TotalSteps, p.Epoch, p.Loss, p.LearningRate,
                    p.TokensPerSecond, p.Elapsed, p.IsLoggingStep, p.Checkpoint, p.EvalLoss));
        }
    }
}
