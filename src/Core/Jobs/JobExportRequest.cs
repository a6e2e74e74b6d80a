using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Preflight;

namespace TrainableTokens.Core.Jobs;

/// <summary>What Export-TokenTrainingJob was asked for: a run, the job folder to write, and how the job is launched.</summary>
/// <param name="Config">The run (a run file read with <see cref="RunConfig.Load"/>, or built in code).</param>
/// <param name="OutputPath">The job folder to write.</param>
public sealed record JobExportRequest(RunConfig Config, string OutputPath)
{
    /// <summary>The run file, copied into the job as run.yaml; null for a run built in code.</summary>
    public string? RunFile { get; init; }
    /// <summary>The folder relative paths in the run are relative to (default: the run file's folder, else the current one).</summary>
    public string? BaseDirectory { get; init; }
    /// <summary>Settings that replace the run's (the base model or dataset, as Start-TokenTraining takes them).</summary>
    public RunOverrides? Overrides { get; init; }
    public JobEngine Engine { get; init; } = JobEngine.Fsdp;
    /// <summary>Processes (GPUs) per node.</summary>
    public int Processes { get; init; } = 1;
    public int Nodes { get; init; } = 1;
    /// <summary>Replace a job folder this command wrote before (never one holding a job's output).</summary>
    public bool Overwrite { get; init; }
    /// <summary>The module's version, recorded in job.json.</summary>
    public string ExportedBy { get; init; } = "TrainableTokens";
}
