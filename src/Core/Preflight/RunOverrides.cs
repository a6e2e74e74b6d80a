using System;
using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Core.Preflight;

/// <summary>
/// Settings given when training starts (Start-TokenTraining's -Model, -LearningRate, ...) that replace the run file's.
/// They are applied to the config before any check, so each goes through the same validation as a file value; a
/// finding about one names where it came from (<see cref="Parameters"/>), not a line of the run file. Paths are used
/// as given: the caller makes them absolute (a command line's paths are relative to its current folder).
/// </summary>
public sealed record RunOverrides
{
    public string? BaseModel { get; init; }
    public string? Dataset { get; init; }
    public string? OutputDir { get; init; }
    public int? MaxSteps { get; init; }
    public double? NumTrainEpochs { get; init; }
    public double? LearningRate { get; init; }
    public int? PerDeviceTrainBatchSize { get; init; }
    public string? Device { get; init; }
    public string? Dtype { get; init; }
    public int? Seed { get; init; }
    public string? ResumeFromCheckpoint { get; init; }
    public bool OverwriteOutputDir { get; init; }

    /// <summary>
    /// The name each override goes by where the caller took it from, keyed by the field it sets; findings about those
    /// fields are reported under these names. A field without one keeps its own name (for callers in code).
    /// </summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    /// <summary>The fields these overrides set, as findings name them (training.learning_rate, ...).</summary>
    public IReadOnlyList<string> Fields => Settings().Select(s => s.Field).ToList();

    /// <summary>The run config with these values in place of the file's; a config without a training section gets one.</summary>
    public RunConfig ApplyTo(RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var t = config.Training ?? new TrainingConfig();
        t = t with
        {
            BaseModel = BaseModel ?? t.BaseModel,
            Dataset = Dataset ?? t.Dataset,
            OutputDir = OutputDir ?? t.OutputDir,
            // max_steps wins over num_train_epochs; an epochs override alone must not be silently beaten by the file's max_steps.
            MaxSteps = MaxSteps ?? (NumTrainEpochs is not null ? null : t.MaxSteps),
            NumTrainEpochs = NumTrainEpochs ?? t.NumTrainEpochs,
            LearningRate = LearningRate ?? t.LearningRate,
            PerDeviceTrainBatchSize = PerDeviceTrainBatchSize ?? t.PerDeviceTrainBatchSize,
            Device = Device ?? t.Device,
            Dtype = Dtype ?? t.Dtype,
            Seed = Seed ?? t.Seed,
            ResumeFromCheckpoint = ResumeFromCheckpoint ?? t.ResumeFromCheckpoint,
            OverwriteOutputDir = OverwriteOutputDir || t.OverwriteOutputDir,
        };
        return config with { Training = t };
    }

    /// <summary>
    /// A finding about an overridden field, said of the override: no file position (the file's value was replaced),
    /// the parameter's name in place of the field's, in the field and in the message.
    /// </summary>
    public ConfigFinding Rename(ConfigFinding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        var field = Settings().Select(s => s.Field).FirstOrDefault(f => finding.Field == f || finding.Field.StartsWith(f + "[", StringComparison.Ordinal));
        if (field is null) return finding;
        var name = Parameters.TryGetValue(field, out var p) ? p : field;
        return finding with
        {
            Field = name,
            Line = null,
            Column = null,
            Message = finding.Message.Replace($"'{field}'", name, StringComparison.Ordinal),
            Source = null,
        };
    }

    private IEnumerable<(string Field, bool Set)> All() => new[]
    {
        ("training.base_model", BaseModel is not null),
        ("training.dataset", Dataset is not null),
        ("training.output_dir", OutputDir is not null),
        ("training.max_steps", MaxSteps is not null),
        ("training.num_train_epochs", NumTrainEpochs is not null),
        ("training.learning_rate", LearningRate is not null),
        ("training.per_device_train_batch_size", PerDeviceTrainBatchSize is not null),
        ("training.device", Device is not null),
        ("training.dtype", Dtype is not null),
        ("training.seed", Seed is not null),
        ("training.resume_from_checkpoint", ResumeFromCheckpoint is not null),
    };

    private IEnumerable<(string Field, bool Set)> Settings() => All().Where(s => s.Set);
}
