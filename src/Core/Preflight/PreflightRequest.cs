using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Core.Preflight;

/// <summary>What to check before a run: the run config, and optionally a model folder that replaces its base_model.</summary>
public sealed record PreflightRequest(RunConfig Config)
{
    /// <summary>The model folder to check against instead of <c>training.base_model</c>.</summary>
    public string? ModelFolder { get; init; }

    /// <summary>
    /// The folder relative paths in the config are relative to. Default: the run file's folder when the config was
    /// read from a file, else the current directory.
    /// </summary>
    public string? BaseDirectory { get; init; }

    /// <summary>The tokenisation check of the dataset; null skips it (and the report says so).</summary>
    public IDatasetTokenizationCheck? DatasetTokenization { get; init; }
}
