using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Training.Data;

namespace TrainableTokens.Core.Preflight;

/// <summary>
/// Checks a training dataset without a tokenizer: the file exists and can be read, it is JSON Lines, and each line is
/// an object with "text", or "prompt" and "completion", or "messages" (a non-empty list of role/content objects).
/// </summary>
public static class DatasetFileCheck
{
    /// <summary>How many bad lines are reported one by one before the rest are counted.</summary>
    public const int MaxReportedLines = 5;

    public static IReadOnlyList<DatasetIssue> Check(string path)
    {
        var issues = new List<DatasetIssue>();
        if (Directory.Exists(path))
            return Error(issues, $"The dataset '{path}' is a folder. Give a JSON Lines file (one example per line).");
        if (!File.Exists(path))
            return Error(issues, $"The dataset '{path}' does not exist. Check the path; relative paths are relative to the run file's folder.");

        var records = 0;
        var badLines = 0;
        try
        {
            // Streamed and bounded like training reads it: a FIFO, a device or a line without end is an issue, not a hang.
            foreach (var (number, line) in DatasetReader.ReadLines(path))
            {
                if (string.IsNullOrWhiteSpace(line)) continue;
                records++;
                if (ProblemOrBadText(line) is not { } problem) continue;
                if (++badLines <= MaxReportedLines) issues.Add(new DatasetIssue(ConfigSeverity.Error, $"{Path.GetFileName(path)} line {number}: {problem}"));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Error(issues, $"The dataset '{path}' cannot be read: {e.Message}");
        }
        catch (InvalidDatasetException e)
        {
            return Error(issues, e.Message);
        }
        if (badLines > MaxReportedLines)
            issues.Add(new DatasetIssue(ConfigSeverity.Error, $"{Path.GetFileName(path)}: {badLines - MaxReportedLines} more lines have problems like these."));
        if (records == 0)
            Error(issues, $"The dataset '{path}' is empty. Write one JSON object per line, each with \"text\", \"prompt\" and \"completion\", or \"messages\".");
        return issues;
    }

    /// <summary>What is wrong with one line, or null when it is a usable example.</summary>
    /// <summary>System.Text.Json reads a lone surrogate escape (\ud800) only when asked for the string, and throws then.</summary>
    private static string? ProblemOrBadText(string line)
    {
        try
        {
            return Problem(line);
        }
        catch (InvalidOperationException)
        {
            return "holds a \\u escape that is half of a character (a lone surrogate such as \\ud800). Remove or complete it.";
        }
    }

    private static string? Problem(string line)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            return $"not valid JSON ({e.Message.Split('.')[0]}). Each line must be one complete JSON object.";
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return "not a JSON object. Each line must be an object such as {\"text\": \"...\"}.";
            if (root.TryGetProperty("text", out var text))
                return text.ValueKind == JsonValueKind.String && text.GetString()!.Length > 0 ? null : "\"text\" must be a non-empty string.";
            if (root.TryGetProperty("prompt", out var prompt) || root.TryGetProperty("completion", out _))
            {
                if (!root.TryGetProperty("completion", out var completion)) return "has \"prompt\" but no \"completion\". Give both.";
                if (prompt.ValueKind != JsonValueKind.String) return "has \"completion\" but no \"prompt\" string. Give both as strings.";
                return completion.ValueKind == JsonValueKind.String && completion.GetString()!.Length > 0 ? null : "\"completion\" must be a non-empty string.";
            }
            if (root.TryGetProperty("messages", out var messages)) return MessagesProblem(messages);
            var keys = string.Join(", ", root.EnumerateObject().Select(p => p.Name));
            return $"has none of \"text\", \"prompt\"/\"completion\" or \"messages\" (it has: {(keys.Length == 0 ? "nothing" : keys)}).";
        }
    }

    private static string? MessagesProblem(JsonElement messages)
    {
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            return "\"messages\" must be a non-empty list of {\"role\": ..., \"content\": ...} objects.";
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object
                || !message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String
                || !message.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
                return $"\"messages\" item {index} needs a string \"role\" and a string \"content\".";
            index++;
        }
        return null;
    }

    private static List<DatasetIssue> Error(List<DatasetIssue> issues, string message)
    {
        issues.Add(new DatasetIssue(ConfigSeverity.Error, message));
        return issues;
    }
}
