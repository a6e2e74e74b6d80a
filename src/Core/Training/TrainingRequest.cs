using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Preflight;

namespace TrainableTokens.Core.Training;

/// <summary>A run to train: the run config, and optionally a model folder that replaces its base_model.</summary>
public sealed record TrainingRequest(RunConfig Config)
{
    /// <summary>The model folder to train on instead of <c>training.base_model</c>.</summary>
    public string? ModelFolder { get; init; }

    /// <summary>The folder relative paths are relative to. Default: the run file's folder, else the current directory.</summary>
    public string? BaseDirectory { get; init; }

    /// <summary>Settings that replace the run file's (as Start-TokenTraining's parameters do).</summary>
    public RunOverrides Overrides { get; init; } = new();

    /// <summary>Replace an existing, non-empty output_dir (as <c>overwrite_output_dir: true</c>).</summary>
    public bool OverwriteOutputDir { get; init; }

    /// <summary>The adapter's name inside the model (not written to disk).</summary>
    public string AdapterName { get; init; } = "default";
}
