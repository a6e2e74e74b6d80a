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
/// Where a run stands at a checkpoint (<c>trainer_state.json</c>, named as in Hugging Face's checkpoints): enough to
/// continue exactly where it stopped, with the same data order, schedule and loss figures.
/// </summary>
internal sealed record TrainerState
{
    public const string FileName = "trainer_state.json";
    private const long MaxBytes = 1 << 20;

    [JsonPropertyName("global_step")] public int GlobalStep { get; init; }
    [JsonPropertyName("max_steps")] public int MaxSteps { get; init; }
    [JsonPropertyName("epoch")] public double Epoch { get; init; }
    /// <summary>The epoch the next batch comes from (0-based) and how many of its batches were already used.</summary>
    [JsonPropertyName("epoch_index")] public int EpochIndex { get; init; }
    [JsonPropertyName("batches_in_epoch")] public int BatchesInEpoch { get; init; }
    [JsonPropertyName("first_loss")] public double? FirstLoss { get; init; }
    [JsonPropertyName("last_loss")] public double? LastLoss { get; init; }
    [JsonPropertyName("trained_tokens")] public long TrainedTokens { get; init; }
    [JsonPropertyName("seed")] public long Seed { get; init; }
    [JsonPropertyName("token_indices")] public IReadOnlyList<long> TokenIndices { get; init; } = [];

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        MaxDepth = 8,
    };

    public void Write(string folder) =>
        File.WriteAllText(Path.Combine(folder, FileName), JsonSerializer.Serialize(this, Options) + "\n", new UTF8Encoding(false));

    public static TrainerState Read(string checkpoint)
    {
        var path = Path.Combine(checkpoint, FileName);
        Exception Invalid(string message) => new TrainingFailedException("InvalidCheckpoint", ErrorKind.InvalidData, message, path);
        var bytes = UserFile.ReadAllBytes(path, MaxBytes, "trainer state", m => Invalid(m + " The checkpoint is not one this module wrote, or it is damaged: resume from another checkpoint."));
        try
        {
            return JsonSerializer.Deserialize<TrainerState>(bytes, Options)
                ?? throw Invalid($"'{path}' is empty. Resume from another checkpoint.");
        }
        catch (JsonException e)
        {
            throw Invalid($"'{path}' is not a valid trainer state ({e.Message}). Resume from another checkpoint.");
        }
    }

    /// <summary>Refuses a checkpoint that belongs to another run (other token ids or seed): resuming it would not give that run.</summary>
    public void CheckMatches(string checkpoint, IReadOnlyList<long> tokenIndices, long seed)
    {
        var path = Path.Combine(checkpoint, FileName);
        if (!TokenIndices.SequenceEqual(tokenIndices))
            throw new TrainingFailedException("CheckpointMismatch", ErrorKind.InvalidArgument,
                $"The checkpoint '{checkpoint}' trained token ids {Preview(TokenIndices)}, but the run file asks for {Preview(tokenIndices)}. " +
                "Resume with the run file that wrote it, or start afresh without resume_from_checkpoint.", path);
        if (Seed != seed)
            throw new TrainingFailedException("CheckpointMismatch", ErrorKind.InvalidArgument,
                $"The checkpoint '{checkpoint}' was written by a run with seed {Seed}, but the run file has seed {seed}; the data order would differ. " +
                "Set seed back to that value, or start afresh without resume_from_checkpoint.", path);
        if (GlobalStep < 1 || EpochIndex < 0 || BatchesInEpoch < 0)
            throw new TrainingFailedException("InvalidCheckpoint", ErrorKind.InvalidData,
                $"'{path}' has impossible values (global_step {GlobalStep}, epoch_index {EpochIndex}, batches_in_epoch {BatchesInEpoch}). Resume from another checkpoint.", path);
    }

    private static string Preview(IReadOnlyList<long> ids) =>
        "[" + string.Join(", ", ids.Take(8)) + (ids.Count > 8 ? $", ... ({ids.Count} in all)" : "") + "]";
}
