using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainableTokens.Core.IO;

namespace TrainableTokens.Core.Jobs;

/// <summary>What train.py recorded in job-result.json when it finished: the versions it ran with (package name to version,
/// null where one was missing), the optimiser steps taken and the mean training loss.</summary>
public sealed record JobResultValues(string Path, IReadOnlyDictionary<string, string?> Versions, long? GlobalStep, double? TrainLoss)
{
    private const long MaxFileBytes = 64L << 20;

    /// <summary>job-result.json in <paramref name="folder"/>; null when it has none.</summary>
    public static JobResultValues? Find(string folder)
    {
        var path = System.IO.Path.Combine(folder, JobLayout.ResultFile);
        return FileKind.Of(path) == FileKindValue.Missing ? null : Read(path);
    }

    public static JobResultValues Read(string path)
    {
        InvalidJobException Bad(string what) => new(InvalidJobException.InvalidJob,
            $"'{path}': {what}. It is train.py's record of the run; run train.py again, or remove the file to import without it.", path);
        JsonObject root;
        try
        {
            var text = UserFile.ReadAllText(path, MaxFileBytes, "job result", message => new InvalidJobException(InvalidJobException.InvalidJob, message, path));
            root = JsonNode.Parse(text) as JsonObject ?? throw Bad("it is not a JSON object");
            _ = root.Count;
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw Bad($"it is not valid JSON ({e.Message})");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Bad($"it cannot be read ({e.Message})");
        }
        var versions = new Dictionary<string, string?>(StringComparer.Ordinal);
        switch (root["versions"])
        {
            case null:
                break;
            case JsonObject o:
                foreach (var (name, value) in o)
                    versions[name] = value switch
                    {
                        null => null,
                        JsonValue v when v.GetValueKind() == JsonValueKind.String => (string)v!,
                        _ => throw Bad($"\"versions.{name}\" is {TrainingJob.Show(value)}, not a version string"),
                    };
                break;
            default:
                throw Bad($"\"versions\" is {TrainingJob.Show(root["versions"])}, not an object");
        }
        long? step = root["global_step"] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<long>(out var s) => s,
            JsonValue v when v.GetValueKind() == JsonValueKind.Number && double.TryParse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture, out var d) && d == Math.Floor(d) => (long)d,
            var other => throw Bad($"\"global_step\" is {TrainingJob.Show(other)}, not a whole number"),
        };
        double? loss = root["train_loss"] switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.Number => double.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture),
            var other => throw Bad($"\"train_loss\" is {TrainingJob.Show(other)}, not a number"),
        };
        return new JobResultValues(path, versions, step, loss);
    }
}
