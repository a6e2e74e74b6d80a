using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace TrainableTokens.Core.Training.Data;

/// <summary>
/// One training example before tokenisation: plain text (loss on every token), a prompt with its completion (loss on
/// the completion only), or a conversation rendered with the tokenizer's chat template. <see cref="Source"/> and
/// <see cref="Line"/> say where it came from, for error messages.
/// </summary>
public sealed record DatasetRecord
{
    public const string PipelineSource = "pipeline input";

    public string? Text { get; init; }
    public string? Prompt { get; init; }
    public string? Completion { get; init; }
    public IReadOnlyList<ChatMessage>? Messages { get; init; }
    public string Source { get; init; } = PipelineSource;
    /// <summary>The 1-based line of a file, or the 1-based position in pipeline input.</summary>
    public int? Line { get; init; }

    public DatasetFormat Format => Messages is not null ? DatasetFormat.Messages : Prompt is not null ? DatasetFormat.PromptCompletion : DatasetFormat.Text;

    public static DatasetRecord FromText(string text, string source = PipelineSource, int? line = null) => new() { Text = text, Source = source, Line = line };

    /// <summary>
    /// A record from a JSON object: {"text": ...}, {"prompt": ..., "completion": ...} or {"messages": [{"role", "content"}, ...]}.
    /// Other fields are ignored. Anything else is an <see cref="InvalidDatasetException"/> naming the source and line.
    /// </summary>
    public static DatasetRecord FromJson(JsonElement value, string source, int? line)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Invalid(source, line, $"is a JSON {Kind(value)}, not an object");
        if (value.TryGetProperty("messages", out var messages))
        {
            if (messages.ValueKind != JsonValueKind.Array)
                throw Invalid(source, line, "has \"messages\" that is not a list of {\"role\": ..., \"content\": ...} objects");
            var list = new List<ChatMessage>();
            foreach (var m in messages.EnumerateArray())
            {
                if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String ||
                    !m.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
                    throw Invalid(source, line, $"has a message that is not {{\"role\": \"...\", \"content\": \"...\"}} with string values: {Short(m)}");
                list.Add(new ChatMessage(role.GetString()!, content.GetString()!));
            }
            return new DatasetRecord { Messages = list, Source = source, Line = line };
        }
        if (value.TryGetProperty("prompt", out var prompt))
        {
            if (!value.TryGetProperty("completion", out var completion))
                throw Invalid(source, line, "has \"prompt\" but no \"completion\"");
            if (prompt.ValueKind != JsonValueKind.String || completion.ValueKind != JsonValueKind.String)
                throw Invalid(source, line, "has a \"prompt\" or \"completion\" that is not a string");
            return new DatasetRecord { Prompt = prompt.GetString(), Completion = completion.GetString(), Source = source, Line = line };
        }
        if (value.TryGetProperty("text", out var text))
        {
            if (text.ValueKind != JsonValueKind.String) throw Invalid(source, line, "has a \"text\" that is not a string");
            return new DatasetRecord { Text = text.GetString(), Source = source, Line = line };
        }
        var fields = string.Join(", ", value.EnumerateObject().Select(p => $"\"{p.Name}\"").Take(6));
        throw Invalid(source, line, $"has none of the fields a record needs (it has {(fields.Length == 0 ? "no fields" : fields)})");
    }

    internal static InvalidDatasetException Invalid(string source, int? line, string problem, Exception? inner = null) =>
        new($"{ChatTemplate.Where(source, line)} {problem}. Each record must be {{\"text\": \"...\"}}, {{\"prompt\": \"...\", \"completion\": \"...\"}} " +
            "or {\"messages\": [{\"role\": \"user\", \"content\": \"...\"}, ...]}.", source, line, inner);

    private static string Kind(JsonElement value) => value.ValueKind.ToString().ToLowerInvariant();

    private static string Short(JsonElement value)
    {
        var text = value.GetRawText();
        return text.Length > 80 ? text[..77] + "..." : text;
    }
}
