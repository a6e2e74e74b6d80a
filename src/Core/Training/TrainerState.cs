using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using TrainableTokens.Core.IO;

namespace TrainableTokens.Core.Training;

/// <summary>
/// Where a run stands at a checkpoint (<c>trainer_state.json</c>): Hugging Face's fields (global_step, epoch,
/// log_history, best_metric, best_model_checkpoint, the step settings, the early-stopping counter under
/// stateful_callbacks) plus what continuing exactly needs: the place in the epoch's data order, the loss figures of the
/// current logging interval, and fingerprints of the model and data the run was on.
/// </summary>
internal sealed record TrainerState
{
    public const string FileName = "trainer_state.json";
    private const long MaxBytes = 64 << 20;

    [JsonPropertyName("best_global_step")] public int? BestGlobalStep { get; init; }
    [JsonPropertyName("best_metric")] public double? BestMetric { get; init; }
    /// <summary>The best checkpoint's folder (full path when written; on resume found by its name in output_dir).</summary>
    [JsonPropertyName("best_model_checkpoint")] public string? BestModelCheckpoint { get; init; }
    [JsonPropertyName("epoch")] public double Epoch { get; init; }
    [JsonPropertyName("eval_steps")] public int? EvalSteps { get; init; }
    [JsonPropertyName("global_step")] public int GlobalStep { get; init; }
    [JsonPropertyName("is_hyper_param_search")] public bool IsHyperParamSearch { get; init; }
    [JsonPropertyName("is_local_process_zero")] public bool IsLocalProcessZero { get; init; } = true;
    [JsonPropertyName("is_world_process_zero")] public bool IsWorldProcessZero { get; init; } = true;
    [JsonPropertyName("log_history")] public IReadOnlyList<TrainingLogEntry> LogHistory { get; init; } = [];
    [JsonPropertyName("logging_steps")] public int LoggingSteps { get; init; }
    [JsonPropertyName("max_steps")] public int MaxSteps { get; init; }
    [JsonPropertyName("num_input_tokens_seen")] public long NumInputTokensSeen { get; init; }
    [JsonPropertyName("num_train_epochs")] public int NumTrainEpochs { get; init; }
    [JsonPropertyName("save_steps")] public int SaveSteps { get; init; }
    [JsonPropertyName("stateful_callbacks")] public StatefulCallbacks? Callbacks { get; init; }
    [JsonPropertyName("total_flos")] public double TotalFlos { get; init; }
    [JsonPropertyName("train_batch_size")] public int TrainBatchSize { get; init; }
    [JsonPropertyName("trial_name")] public string? TrialName { get; init; }
    [JsonPropertyName("trial_params")] public JsonElement? TrialParams { get; init; }

    // Ours.
    /// <summary>The epoch the next batch comes from (0-based) and how many of its batches were already used; each
    /// epoch's order is the training examples shuffled with seed + epoch.</summary>
    [JsonPropertyName("epoch_index")] public int EpochIndex { get; init; }
    [JsonPropertyName("batches_in_epoch")] public int BatchesInEpoch { get; init; }
    [JsonPropertyName("gradient_accumulation_steps")] public int? GradientAccumulationSteps { get; init; }
    [JsonPropertyName("first_loss")] public double? FirstLoss { get; init; }
    [JsonPropertyName("last_loss")] public double? LastLoss { get; init; }
    [JsonPropertyName("trained_tokens")] public long TrainedTokens { get; init; }
    [JsonPropertyName("seed")] public long Seed { get; init; }
    [JsonPropertyName("token_indices")] public IReadOnlyList<long> TokenIndices { get; init; } = [];
    /// <summary>The method trained (PEFT's peft_type); written for LoRA runs only, so a Trainable Tokens state is as before.</summary>
    [JsonPropertyName("peft_type"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? PeftType { get; init; }
    [JsonPropertyName("model_fingerprint")] public string? ModelFingerprint { get; init; }
    [JsonPropertyName("train_data_fingerprint")] public string? TrainDataFingerprint { get; init; }
    [JsonPropertyName("eval_data_fingerprint")] public string? EvalDataFingerprint { get; init; }
    [JsonPropertyName("eval_loss_before")] public double? EvalLossBefore { get; init; }
    [JsonPropertyName("elapsed_seconds")] public double ElapsedSeconds { get; init; }
    [JsonPropertyName("logging_interval")] public LoggingInterval? Interval { get; init; }
    [JsonPropertyName("lr_scheduler")] public SchedulerPosition? Scheduler { get; init; }

    /// <summary>The steps since the last logging step: their summed loss and count (steps without labels have no loss), tokens and seconds.</summary>
    internal sealed record LoggingInterval(
        [property: JsonPropertyName("loss_sum")] double LossSum,
        [property: JsonPropertyName("loss_steps")] int LossSteps,
        [property: JsonPropertyName("tokens")] long Tokens,
        [property: JsonPropertyName("seconds")] double Seconds);

    /// <summary>The learning-rate schedule and where it stands (the rate is a function of the step, so this is a record, not a state).</summary>
    internal sealed record SchedulerPosition(
        [property: JsonPropertyName("type")] string Type,
        [property: JsonPropertyName("learning_rate")] double LearningRate,
        [property: JsonPropertyName("warmup_steps")] int WarmupSteps,
        [property: JsonPropertyName("total_steps")] int TotalSteps,
        [property: JsonPropertyName("last_step")] int LastStep,
        [property: JsonPropertyName("last_lr")] double LastLearningRate);

    /// <summary>Hugging Face's stateful_callbacks: the TrainerControl flags and EarlyStoppingCallback's counter.</summary>
    internal sealed record StatefulCallbacks(
        [property: JsonPropertyName("TrainerControl")] CallbackState<ControlArgs>? Control,
        [property: JsonPropertyName("EarlyStoppingCallback")] CallbackState<EarlyStoppingArgs>? EarlyStopping);

    internal sealed record CallbackState<TArgs>(
        [property: JsonPropertyName("args")] TArgs Args,
        [property: JsonPropertyName("attributes")] Dictionary<string, int> Attributes);

    internal sealed record ControlArgs(
        [property: JsonPropertyName("should_epoch_stop")] bool ShouldEpochStop,
        [property: JsonPropertyName("should_evaluate")] bool ShouldEvaluate,
        [property: JsonPropertyName("should_log")] bool ShouldLog,
        [property: JsonPropertyName("should_save")] bool ShouldSave,
        [property: JsonPropertyName("should_training_stop")] bool ShouldTrainingStop);

    internal sealed record EarlyStoppingArgs(
        [property: JsonPropertyName("early_stopping_patience")] int Patience,
        [property: JsonPropertyName("early_stopping_threshold")] double Threshold);

    [JsonIgnore] public bool TrainingStopped => Callbacks?.Control?.Args.ShouldTrainingStop ?? false;

    [JsonIgnore] public int PatienceCounter => Callbacks?.EarlyStopping?.Attributes.GetValueOrDefault("early_stopping_patience_counter") ?? 0;

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        MaxDepth = 16,
        Converters = { new LogEntryConverter() },
    };

    public void Write(string folder) =>
        File.WriteAllText(Path.Combine(folder, FileName), JsonSerializer.Serialize(this, Options) + "\n", new UTF8Encoding(false));

    /// <summary>Reads and checks a checkpoint's state; a missing, truncated or impossible file is an error naming it.</summary>
    public static TrainerState Read(string checkpoint)
    {
        var path = Path.Combine(checkpoint, FileName);
        Exception Invalid(string message) => new TrainingFailedException("InvalidCheckpoint", ErrorKind.InvalidData, message, path);
        var bytes = UserFile.ReadAllBytes(path, MaxBytes, "trainer state", m => Invalid(m + " The checkpoint is not one this module wrote, or it is damaged: resume from another checkpoint."));
        TrainerState state;
        try
        {
            state = JsonSerializer.Deserialize<TrainerState>(bytes, Options)
                ?? throw Invalid($"'{path}' is empty. Resume from another checkpoint.");
        }
        catch (JsonException e)
        {
            throw Invalid($"'{path}' is not a valid trainer state ({e.Message}). Resume from another checkpoint.");
        }
        if (state.Problem() is { } problem)
            throw Invalid($"'{path}' {problem}. The checkpoint is damaged: resume from another checkpoint.");
        return state;
    }

    /// <summary>What is impossible about this state, or null.</summary>
    private string? Problem()
    {
        if (GlobalStep < 1 || MaxSteps < 0 || EpochIndex < 0 || BatchesInEpoch < 0 || TrainedTokens < 0 || !double.IsFinite(Epoch) || Epoch < 0)
            return $"has impossible values (global_step {GlobalStep}, max_steps {MaxSteps}, epoch_index {EpochIndex}, batches_in_epoch {BatchesInEpoch})";
        if (TokenIndices is null || (TokenIndices.Count == 0 && PeftType != Tuners.Lora.LoraConfig.PeftType)) return "lists no token_indices";
        if (PeftType is not null && PeftType != Tuners.Lora.LoraConfig.PeftType) return $"has a peft_type '{PeftType}' this module does not train";
        if (BestModelCheckpoint is { } best && !System.Text.RegularExpressions.Regex.IsMatch(Path.GetFileName(Path.TrimEndingDirectorySeparator(best)), "^checkpoint-[0-9]{1,9}$"))
            return $"has a best_model_checkpoint '{best}' that is not a checkpoint-N folder";
        if (BestGlobalStep is < 0 || BestGlobalStep > GlobalStep) return $"has a best_global_step {BestGlobalStep} outside 0 to its global_step {GlobalStep}";
        if (LogHistory is null) return "has no log_history";
        for (var i = 0; i < LogHistory.Count; i++)
        {
            if (LogHistory[i] is null) return $"has a null entry {i} in log_history";
            if (LogHistory[i].Step > GlobalStep) return $"has a log_history entry for step {LogHistory[i].Step}, after its global_step {GlobalStep}";
            if (i > 0 && LogHistory[i].Step < LogHistory[i - 1].Step) return $"has log_history entries out of step order (step {LogHistory[i].Step} after {LogHistory[i - 1].Step})";
        }
        if (Interval is { } v && (v.LossSteps < 0 || v.Tokens < 0 || !double.IsFinite(v.LossSum) || !double.IsFinite(v.Seconds)))
            return "has an impossible logging_interval";
        foreach (var (name, value) in new[] { ("best_metric", BestMetric), ("first_loss", FirstLoss), ("last_loss", LastLoss), ("eval_loss_before", EvalLossBefore) })
            if (value is { } d && !double.IsFinite(d)) return $"has a {name} that is not a finite number";
        return null;
    }

    /// <summary>Refuses a checkpoint that belongs to another run: other token ids, model, data, seed or batching. Values
    /// an older checkpoint lacks are not compared.</summary>
    public void CheckMatches(string checkpoint, RunIdentity run)
    {
        var path = Path.Combine(checkpoint, FileName);
        TrainingFailedException Mismatch(string what, string fix) => new("CheckpointMismatch", ErrorKind.InvalidArgument,
            $"The checkpoint '{checkpoint}' belongs to another run: {what}. {fix}", path);
        const string Afresh = "or start afresh without resume_from_checkpoint";
        var method = PeftType ?? Tuners.TrainableTokens.TrainableTokensAdapterConfig.PeftType;
        if (method != run.PeftType)
            throw Mismatch($"it trained a {method} adapter, but this run trains {run.PeftType}", $"Resume with the run file that wrote it, {Afresh}.");
        if (run.Lora is { } lora && LoraSettings(Tuners.Lora.LoraAdapterFolder.ReadConfig(checkpoint)) != LoraSettings(lora))
            throw Mismatch("its LoRA settings (adapter_config.json) differ from this run's lora section", $"Resume with the lora settings it was trained with, {Afresh}.");
        if (!TokenIndices.SequenceEqual(run.TokenIndices))
            throw Mismatch($"it trained token ids {Preview(TokenIndices)}, but this run asks for {Preview(run.TokenIndices)}", $"Resume with the run file that wrote it, {Afresh}.");
        if (ModelFingerprint is { } model && model != run.ModelFingerprint)
            throw Mismatch($"it was trained on another model (config.json or the weights' names, shapes or dtypes differ from '{run.ModelFolder}')", $"Resume with the model it was trained on, {Afresh}.");
        if (TrainDataFingerprint is { } trainData && trainData != run.TrainDataFingerprint)
            throw Mismatch("its training examples differ from this run's (the dataset, its tokenisation, max_seq_length, eval_split or seed changed)", $"Resume with the dataset and settings it was trained with, {Afresh}.");
        if (EvalDataFingerprint != run.EvalDataFingerprint && (EvalDataFingerprint is not null || TrainDataFingerprint is not null))
            throw Mismatch(EvalDataFingerprint is null ? "it evaluated nothing, but this run evaluates" : run.EvalDataFingerprint is null ? "it evaluated, but this run has no evaluation data" : "its evaluation examples differ from this run's (eval_dataset or eval_split changed)",
                $"Resume with the evaluation settings it was trained with, {Afresh}.");
        if (Seed != run.Seed)
            throw Mismatch($"it was written with seed {Seed}, but this run has seed {run.Seed} (from the run file or -Seed), so the data order would differ", $"Set seed back to {Seed}, {Afresh}.");
        if (TrainBatchSize > 0 && TrainBatchSize != run.BatchSize)
            throw Mismatch($"it was trained with per_device_train_batch_size {TrainBatchSize}, but the run file has {run.BatchSize}", $"Set it back to {TrainBatchSize}, {Afresh}.");
        if (GradientAccumulationSteps is { } accumulation && accumulation != run.GradientAccumulationSteps)
            throw Mismatch($"it was trained with gradient_accumulation_steps {accumulation}, but the run file has {run.GradientAccumulationSteps}", $"Set it back to {accumulation}, {Afresh}.");
    }

    /// <summary>A LoRA config's settings for comparison: what the adapter is, not where its base model was.</summary>
    private static string LoraSettings(Tuners.Lora.LoraConfig config) =>
        (config with { BaseModelNameOrPath = null, Revision = null, ExtraFields = new Dictionary<string, System.Text.Json.Nodes.JsonNode?>() }).ToJson();

    private static string Preview(IReadOnlyList<long> ids) =>
        "[" + string.Join(", ", ids.Take(8)) + (ids.Count > 8 ? $", ... ({ids.Count} in all)" : "") + "]";

    private sealed class LogEntryConverter : JsonConverter<TrainingLogEntry>
    {
        public override TrainingLogEntry Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var document = JsonDocument.ParseValue(ref reader);
            return MetricsLog.Read(document.RootElement);
        }

        public override void Write(Utf8JsonWriter writer, TrainingLogEntry value, JsonSerializerOptions options) => MetricsLog.Write(writer, value);
    }
}

/// <summary>What makes a checkpoint this run's: the tokens, the model and data fingerprints, the seed and the batching.</summary>
internal sealed record RunIdentity(IReadOnlyList<long> TokenIndices, string ModelFolder, string ModelFingerprint, string TrainDataFingerprint,
    string? EvalDataFingerprint, long Seed, int BatchSize, int GradientAccumulationSteps)
{
    /// <summary>The method (PEFT's peft_type): TRAINABLE_TOKENS or LORA.</summary>
    public string PeftType { get; init; } = Tuners.TrainableTokens.TrainableTokensAdapterConfig.PeftType;
    /// <summary>A LoRA run's adapter settings, which a checkpoint must have been written with.</summary>
    public Tuners.Lora.LoraConfig? Lora { get; init; }
}
