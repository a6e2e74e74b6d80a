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
    double TokensPerSecond, TimeSpan Elapsed, bool IsLoggingStep, string? Checkpoint);

/// <summary>A preflight finding, in cmdlet-side types: the finding object itself rides along as the error's target.</summary>
internal sealed record PreflightLine(bool IsError, string Field, string Text, object Finding);

/// <summary>
/// The bridge between Start-TokenTraining and the engine. Engine types appear only in these non-inlined methods, so
/// PowerShell never resolves them while it binds the cmdlet.
/// </summary>
internal static class TrainingSession
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static (IReadOnlyList<PreflightLine> Lines, string OutputDir, string Summary) Preflight(string runFile, string? model, bool force)
    {
        var config = RunConfig.Load(runFile);
        if (force && config.Training is { } t) config = config with { Training = t with { OverwriteOutputDir = true } };
        var report = RunPreflight.Check(new PreflightRequest(config) { ModelFolder = model, DatasetTokenization = new TokenizedDatasetCheck() });
        var lines = report.Findings
            .Select(f => new PreflightLine(f.Severity == ConfigSeverity.Error, f.Field, f.ToString(), f))
            .ToList();
        var train = config.Training ?? new TrainingConfig();
        if (train.EvalSplit > 0)
            lines.Add(new PreflightLine(false, "training.eval_split",
                $"eval_split is {train.EvalSplit}, but this version does not evaluate yet: every example is trained on.", train.EvalSplit));
        var baseDir = System.IO.Path.GetDirectoryName(runFile)!;
        var output = train.OutputDir is null ? "(no output_dir)" : System.IO.Path.GetFullPath(train.OutputDir, baseDir);
        var steps = train.MaxSteps is { } m ? $"{m} steps" : $"{train.NumTrainEpochs} epochs";
        var ids = string.Join(", ", config.TrainableTokens?.TokenIndices ?? new List<int>());
        var summary = $"Train token rows {ids} of {model ?? train.BaseModel} for {steps} on {train.Device}";
        return (lines, output, summary);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static Task<object> Start(string runFile, string? model, bool force, BlockingCollection<TrainingUpdate> updates, CancellationToken cancellation)
    {
        var request = new TrainingRequest(RunConfig.Load(runFile)) { ModelFolder = model, OverwriteOutputDir = force };
        var progress = new QueueProgress(updates);
        var task = Task.Run(() => (object)Trainer.Run(request, progress, cancellation), CancellationToken.None);
        task.ContinueWith(_ => updates.CompleteAdding(), TaskScheduler.Default);
        return task;
    }

    private sealed class QueueProgress(BlockingCollection<TrainingUpdate> updates) : IProgress<TrainingProgress>
    {
        // TryAdd: after a stop nobody reads the queue any more, and progress must never fail the training step.
        public void Report(TrainingProgress p)
        {
            if (!updates.IsAddingCompleted)
                updates.TryAdd(new TrainingUpdate(p.Step, p.TotalSteps, p.Epoch, p.Loss, p.LearningRate,
                    p.TokensPerSecond, p.Elapsed, p.IsLoggingStep, p.Checkpoint));
        }
    }
}
