using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;

namespace TrainableTokens.Core.Training;

/// <summary>
/// A run's history as JSON: one object per <see cref="TrainingLogEntry"/>, every key on every line (null where it does
/// not apply), so <c>Get-Content metrics.jsonl | ConvertFrom-Json</c> gives objects of one shape. Numbers are written so
/// that they read back to the same double, which keeps a resumed run's history equal to an uninterrupted one's.
/// </summary>
internal static class MetricsLog
{
    public const string FileName = "metrics.jsonl";

    private static readonly string[] Keys =
        ["step", "epoch", "loss", "eval_loss", "eval_perplexity", "learning_rate", "grad_norm", "tokens_per_second", "elapsed_seconds"];

    public static void Write(Utf8JsonWriter writer, TrainingLogEntry entry)
    {
        writer.WriteStartObject();
        writer.WriteNumber("step", entry.Step);
        Number(writer, "epoch", entry.Epoch);
        Number(writer, "loss", entry.Loss);
        Number(writer, "eval_loss", entry.EvalLoss);
        Number(writer, "eval_perplexity", entry.EvalPerplexity);
        Number(writer, "learning_rate", entry.LearningRate);
        Number(writer, "grad_norm", entry.GradNorm);
        Number(writer, "tokens_per_second", entry.TokensPerSecond);
        Number(writer, "elapsed_seconds", entry.ElapsedSeconds);
        writer.WriteEndObject();
    }

    /// <summary>The whole history as JSON Lines (UTF-8, one object per line, each line ending in a newline).</summary>
    public static byte[] ToJsonLines(IReadOnlyList<TrainingLogEntry> entries)
    {
        using var stream = new MemoryStream();
        foreach (var entry in entries)
        {
            using (var writer = new Utf8JsonWriter(stream)) Write(writer, entry);
            stream.WriteByte((byte)'\n');
        }
        return stream.ToArray();
    }

    /// <summary>One entry from its JSON object; <see cref="JsonException"/> naming the key when a value is missing or wrong.</summary>
    public static TrainingLogEntry Read(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object) throw new JsonException("an entry of log_history is not an object");
        foreach (var key in Keys)
            if (!element.TryGetProperty(key, out _)) throw new JsonException($"an entry of log_history has no \"{key}\"");
        var step = element.GetProperty("step");
        if (step.ValueKind != JsonValueKind.Number || !step.TryGetInt32(out var s) || s < 0) throw new JsonException("an entry of log_history has a \"step\" that is not a whole number of 0 or more");
        var entry = new TrainingLogEntry
        {
            Step = s,
            Epoch = Required(element, "epoch"),
            Loss = Optional(element, "loss"),
            EvalLoss = Optional(element, "eval_loss"),
            EvalPerplexity = Optional(element, "eval_perplexity"),
            LearningRate = Optional(element, "learning_rate"),
            GradNorm = Optional(element, "grad_norm"),
            TokensPerSecond = Optional(element, "tokens_per_second"),
            ElapsedSeconds = Required(element, "elapsed_seconds"),
        };
        if (entry.Epoch < 0 || entry.ElapsedSeconds < 0 || entry.GradNorm < 0 || entry.LearningRate < 0 || entry.TokensPerSecond < 0)
            throw new JsonException($"the log_history entry of step {s} has a negative epoch, time, rate or norm");
        return entry;
    }

    private static void Number(Utf8JsonWriter writer, string key, double? value)
    {
        if (value is { } v && double.IsFinite(v)) writer.WriteNumber(key, v);
        else writer.WriteNull(key);
    }

    private static double Required(JsonElement element, string key) =>
        Optional(element, key) ?? throw new JsonException($"an entry of log_history has no number for \"{key}\"");

    private static double? Optional(JsonElement element, string key)
    {
        var value = element.GetProperty(key);
        if (value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var d) || !double.IsFinite(d))
            throw new JsonException($"an entry of log_history has \"{key}\" that is not a finite number or null");
        return d;
    }
}
