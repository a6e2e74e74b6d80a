using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Core.Preflight;

/// <summary>What to check before a run: the run config, the settings given at start that replace its values, and how
/// much to check.</summary>
public sealed record PreflightRequest(RunConfig Config)
{
    /// <summary>The model folder to check against instead of <c>training.base_model</c> (the same as <see cref="RunOverrides.BaseModel"/>).</summary>
    public string? ModelFolder { get; init; }

    /// <summary>Settings given at start (Start-TokenTraining's parameters) that replace the run file's values.</summary>
    public RunOverrides? Overrides { get; init; }

    /// <summary>
    /// The folder relative paths in the config are relative to. Default: the run file's folder when the config was
    /// read from a file, else the current directory.
    /// </summary>
    public string? BaseDirectory { get; init; }

    /// <summary>Tokenise the dataset with the model's tokenizer, as training will (on by default; the report says when it was skipped).</summary>
    public bool TokenizeDataset { get; init; } = true;

    /// <summary>
    /// Training starts after this check: a setting the run cannot go without (base_model, dataset, output_dir) is an
    /// error. Otherwise (Test-TrainableTokensConfig on a file whose missing settings may still be given at start) it is a warning.
    /// </summary>
    public bool ForTraining { get; init; }

    /// <summary>
    /// The run trains on this machine: check its device and dtype, and that the model fits in its memory (on by default).
    /// Off for a run exported to train elsewhere (Export-TokenTrainingJob), whose model may be far larger than this machine.
    /// </summary>
    public bool ChecksThisMachine { get; init; } = true;
}
