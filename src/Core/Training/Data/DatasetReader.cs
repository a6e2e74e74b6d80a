using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;

namespace TrainableTokens.Core.Training.Data;

/// <summary>
/// Reads training records from a file, lazily: JSON Lines (<c>.jsonl</c>, one record per line, blank lines skipped),
/// a JSON array of records (<c>.json</c>), or plain text (<c>.txt</c> and any other extension: each non-blank line is a
/// text record, as Hugging Face's "text" loader makes one example per line).
/// </summary>
public static class DatasetReader
{
    public static IEnumerable<DatasetRecord> ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new InvalidDatasetException($"The dataset file '{full}' does not exist. Check the path.", full);
        var extension = Path.GetExtension(full).ToLowerInvariant();
        return extension switch
        {
            ".jsonl" or ".ndjson" => ReadJsonLines(full),
            ".json" => ReadJsonArray(full),
            _ => ReadTextLines(full),
        };
    }

    private static IEnumerable<DatasetRecord> ReadJsonLines(string path)
    {
        var number = 0;
        foreach (var line in File.ReadLines(path, Encoding.UTF8))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                throw new InvalidDatasetException(
                    $"'{path}' line {number} is not valid JSON (at character {e.BytePositionInLine + 1}: {FirstSentence(e.Message)}). " +
                    "Each line of a .jsonl file must be one complete JSON object, such as {\"text\": \"...\"}; a record cannot span lines.", path, number, e);
            }
            using (doc) yield return DatasetRecord.FromJson(doc.RootElement, path, number);
        }
    }

    private static IEnumerable<DatasetRecord> ReadJsonArray(string path)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDatasetException(
                $"'{path}' line {e.LineNumber + 1} is not valid JSON ({FirstSentence(e.Message)}). A .json dataset must be one JSON array of records; use .jsonl for one record per line.",
                path, (int?)(e.LineNumber + 1), e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
                throw new InvalidDatasetException($"'{path}' must hold a JSON array of records (or use .jsonl with one record per line).", path);
            var index = 0;
            foreach (var item in doc.RootElement.EnumerateArray())
                yield return DatasetRecord.FromJson(item, path + $" record {++index}", null);
        }
    }

    private static IEnumerable<DatasetRecord> ReadTextLines(string path)
    {
        var number = 0;
        foreach (var line in File.ReadLines(path, Encoding.UTF8))
        {
            number++;
            if (!string.IsNullOrWhiteSpace(line)) yield return DatasetRecord.FromText(line, path, number);
        }
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". ", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message.TrimEnd('.');
    }
}
