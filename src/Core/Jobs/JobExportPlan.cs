using System.Collections.Generic;
using System.Text.Json.Nodes;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Preflight;

namespace TrainableTokens.Core.Jobs;

/// <summary>A checked export, before anything is written: the prepared run, job.json's content and every warning.</summary>
public sealed class JobExportPlan
{
    internal JobExportPlan(JobExportRequest request, string outputPath, PreparedRun run, JsonObject job, IReadOnlyList<JobWarning> warnings,
        JobBatching batching, bool initialRows)
    {
        Request = request;
        OutputPath = outputPath;
        Run = run;
        Job = job;
        Warnings = warnings;
        Batching = batching;
        InitialRows = initialRows;
    }

    public JobExportRequest Request { get; }
    /// <summary>The job folder, absolute.</summary>
    public string OutputPath { get; }
    public PreparedRun Run { get; }
    /// <summary>job.json's content.</summary>
    public JsonObject Job { get; }
    /// <summary>The settings the job cannot honour exactly (also in job.json and the job's README).</summary>
    public IReadOnlyList<JobWarning> Warnings { get; }
    /// <summary>What the run's preflight warned about (as Start-TokenTraining would).</summary>
    public IReadOnlyList<ConfigFinding> RunWarnings => Run.Warnings;
    public JobBatching Batching { get; }
    /// <summary>Whether the job gets the engine's starting rows (some trained tokens are untrained in the model).</summary>
    public bool InitialRows { get; }
    public int World => Request.Processes * Request.Nodes;
    public int TrainExamples => Run.Data.Train.Count;
    public int EvalExamples => Run.Data.Eval.Count;
}
