using System.Collections.Generic;
using System.Management.Automation;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// The settings Start-TokenTraining and Test-TrainableTokensConfig take in place of a run file's, declared once so
/// that both check a run the same way: Test with the same parameters reports what Start would refuse or warn about.
/// </summary>
public abstract class RunSettingsCmdlet : PSCmdlet
{
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ModelFolderCompleter))]
    public string Model { get; set; } = "";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Dataset { get; set; } = "";

    [Parameter]
    [ValidateNotNullOrEmpty]
    [Alias("OutputDir")]
    public string OutputPath { get; set; } = "";

    [Parameter] public int MaxSteps { get; set; }
    [Parameter] public double NumTrainEpochs { get; set; }
    [Parameter] public double LearningRate { get; set; }
    [Parameter, Alias("PerDeviceTrainBatchSize")] public int BatchSize { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(DeviceCompleter))]
    public string Device { get; set; } = "";

    [Parameter]
    [ValidateSet("float32", "bfloat16", "float16", IgnoreCase = true)]
    public string Dtype { get; set; } = "";

    [Parameter] public int Seed { get; set; }

    /// <summary>"latest" or a checkpoint folder.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ResumeCompleter))]
    public string Resume { get; set; } = "";

    [Parameter] public SwitchParameter Force { get; set; }

    /// <summary>The bound settings, paths made absolute from the current location (as a command line's paths are).</summary>
    internal RunSettings Settings()
    {
        var bound = MyInvocation.BoundParameters;
        string? PathOf(string name, string value) => bound.ContainsKey(name) ? GetUnresolvedProviderPathFromPSPath(value) : null;
        T? Value<T>(string name, T value) where T : struct => bound.ContainsKey(name) ? value : null;
        return new RunSettings
        {
            Model = PathOf(nameof(Model), Model),
            Dataset = PathOf(nameof(Dataset), Dataset),
            OutputPath = PathOf(nameof(OutputPath), OutputPath),
            MaxSteps = Value(nameof(MaxSteps), MaxSteps),
            NumTrainEpochs = Value(nameof(NumTrainEpochs), NumTrainEpochs),
            LearningRate = Value(nameof(LearningRate), LearningRate),
            BatchSize = Value(nameof(BatchSize), BatchSize),
            Device = bound.ContainsKey(nameof(Device)) ? Device : null,
            Dtype = bound.ContainsKey(nameof(Dtype)) ? Dtype.ToLowerInvariant() : null,
            Seed = Value(nameof(Seed), Seed),
            Resume = !bound.ContainsKey(nameof(Resume)) ? null
                : string.Equals(Resume, "latest", System.StringComparison.OrdinalIgnoreCase) ? "latest" : GetUnresolvedProviderPathFromPSPath(Resume),
            Force = Force.IsPresent,
        };
    }
}

/// <summary>The run settings given on the command line, in cmdlet-side types (null: not given).</summary>
internal sealed record RunSettings
{
    public string? Model { get; init; }
    public string? Dataset { get; init; }
    public string? OutputPath { get; init; }
    public int? MaxSteps { get; init; }
    public double? NumTrainEpochs { get; init; }
    public double? LearningRate { get; init; }
    public int? BatchSize { get; init; }
    public string? Device { get; init; }
    public string? Dtype { get; init; }
    public int? Seed { get; init; }
    public string? Resume { get; init; }
    public bool Force { get; init; }

    /// <summary>The parameter each run-file field is given by, for findings about them.</summary>
    public static readonly IReadOnlyDictionary<string, string> Parameters = new Dictionary<string, string>
    {
        ["training.base_model"] = "-Model",
        ["training.dataset"] = "-Dataset",
        ["training.output_dir"] = "-OutputPath",
        ["training.max_steps"] = "-MaxSteps",
        ["training.num_train_epochs"] = "-NumTrainEpochs",
        ["training.learning_rate"] = "-LearningRate",
        ["training.per_device_train_batch_size"] = "-BatchSize",
        ["training.device"] = "-Device",
        ["training.dtype"] = "-Dtype",
        ["training.seed"] = "-Seed",
        ["training.resume_from_checkpoint"] = "-Resume",
    };
}
