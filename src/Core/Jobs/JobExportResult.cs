using System.Collections.Generic;

namespace TrainableTokens.Core.Jobs;

/// <summary>What Export-TokenTrainingJob wrote: the job folder, how to launch it, and what it cannot honour exactly.</summary>
public sealed record JobExportResult
{
    public required string Path { get; init; }
    /// <summary>PEFT's name for the method: TRAINABLE_TOKENS or LORA.</summary>
    public required string Method { get; init; }
    public required JobEngine Engine { get; init; }
    public required int Processes { get; init; }
    public required int Nodes { get; init; }
    public required string BaseModel { get; init; }
    public required int TrainExamples { get; init; }
    public required int EvalExamples { get; init; }
    public required int MaxSteps { get; init; }
    /// <summary>Examples per optimiser step over all processes.</summary>
    public required int EffectiveBatchSize { get; init; }
    /// <summary>The command that starts the job on one node (run in the job folder).</summary>
    public required string LaunchCommand { get; init; }
    public required IReadOnlyList<JobWarning> Warnings { get; init; }
    /// <summary>The job's files, relative to <see cref="Path"/>.</summary>
    public required IReadOnlyList<string> Files { get; init; }
}
