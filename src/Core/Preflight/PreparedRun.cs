using System.Collections.Generic;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Training;
using TrainableTokens.Core.Training.Data;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Core.Preflight;

/// <summary>
/// A run that passed the preflight, ready for the trainer: the config (overrides applied), every path resolved, the
/// model's config, and the train and eval data already tokenised. Only the preflight makes one, so the trainer never sees an
/// unchecked run, and nothing is read or tokenised twice.
/// </summary>
public sealed class PreparedRun
{
    internal PreparedRun(RunConfig config, TrainableTokensAdapterConfig? adapter, string modelFolder, ModelConfig model,
        string datasetFile, TokenizedDataset dataset, TrainingData data, RunIdentity identity, string outputDir, string baseDirectory,
        IReadOnlyList<ConfigFinding> warnings)
    {
        Config = config;
        Training = config.Training!;
        Adapter = adapter;
        ModelFolder = modelFolder;
        Model = model;
        DatasetFile = datasetFile;
        Dataset = dataset;
        Data = data;
        Identity = identity;
        OutputDir = outputDir;
        BaseDirectory = baseDirectory;
        Warnings = warnings;
    }

    /// <summary>The run config as checked: the file's values with the overrides in place.</summary>
    public RunConfig Config { get; }
    public TrainingConfig Training { get; }
    /// <summary>The Trainable Tokens adapter to train, as it will be saved (base_model_name_or_path is the model folder);
    /// null for a LoRA run.</summary>
    public TrainableTokensAdapterConfig? Adapter { get; }
    /// <summary>The LoRA adapter to train (the run file's lora section), as it will be saved; null for a Trainable Tokens run.</summary>
    public Tuners.Lora.LoraConfig? LoraAdapter { get; init; }
    /// <summary>PEFT's name for the method the run trains: TRAINABLE_TOKENS or LORA.</summary>
    public string PeftType => LoraAdapter is not null ? Tuners.Lora.LoraConfig.PeftType : TrainableTokensAdapterConfig.PeftType;
    public string ModelFolder { get; }
    public ModelConfig Model { get; }
    public string DatasetFile { get; }
    /// <summary>The tokenised training dataset, before any eval_split is held out.</summary>
    public TokenizedDataset Dataset { get; }
    /// <summary>What is trained on and evaluated on (eval_split held out, or eval_dataset).</summary>
    internal TrainingData Data { get; }
    /// <summary>What a checkpoint of this run records, so that only this run resumes it.</summary>
    internal RunIdentity Identity { get; }
    public string OutputDir { get; }
    /// <summary>The folder the run file's relative paths are relative to (resume_from_checkpoint among them).</summary>
    public string BaseDirectory { get; }
    /// <summary>The token ids whose embedding or head rows the preflight found untrained; null when it did not scan.</summary>
    internal IReadOnlySet<long>? UntrainedTokenIds { get; init; }
    /// <summary>What the preflight warned about; the run goes ahead with them.</summary>
    public IReadOnlyList<ConfigFinding> Warnings { get; }
}
