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
        try
        {
            return Read(value, source, line);
        }
        catch (InvalidOperationException e)
        {
            // System.Text.Json compares escaped keys by unescaping them; a key that is half a character fails that way.
            throw Invalid(source, line, "has a key holding a \\u escape that is half of a character (a lone surrogate such as \\ud800); remove or complete it", e);
        }
    }

    private static DatasetRecord Read(JsonElement value, string source, int? line)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Invalid(source, line, $"is a JSON {Kind(value)}, not an object");
        CheckOnce(value, source, line, RecordFields);
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
                CheckOnce(m, source, line, MessageFields);
                list.Add(new ChatMessage(StringValue(role, source, line, "role"), StringValue(content, source, line, "content")));
            }
            return new DatasetRecord { Messages = list, Source = source, Line = line };
        }
        if (value.TryGetProperty("prompt", out var prompt))
        {
            if (!value.TryGetProperty("completion", out var completion))
                throw Invalid(source, line, "has \"prompt\" but no \"completion\"");
            if (prompt.ValueKind != JsonValueKind.String || completion.ValueKind != JsonValueKind.String)
                throw Invalid(source, line, "has a \"prompt\" or \"completion\" that is not a string");
            return new DatasetRecord { Prompt = StringValue(prompt, source, line, "prompt"), Completion = StringValue(completion, source, line, "completion"), Source = source, Line = line };
        }
        if (value.TryGetProperty("text", out var text))
        {
            if (text.ValueKind != JsonValueKind.String) throw Invalid(source, line, "has a \"text\" that is not a string");
            return new DatasetRecord { Text = StringValue(text, source, line, "text"), Source = source, Line = line };
        }
        var fields = string.Join(", ", value.EnumerateObject().Take(6).Select(p => $"\"{Name(p)}\""));
        throw Invalid(source, line, $"has none of the fields a record needs (it has {(fields.Length == 0 ? "no fields" : fields)})");
    }

    private static readonly string[] RecordFields = { "text", "prompt", "completion", "messages" };
    private static readonly string[] MessageFields = { "role", "content" };

    /// <summary>A field this reader uses, written twice, is ambiguous (Python keeps the last, System.Text.Json finds the first): refused.</summary>
    private static void CheckOnce(JsonElement value, string source, int? line, string[] fields)
    {
        Span<int> counts = stackalloc int[fields.Length];
        foreach (var property in value.EnumerateObject())
        {
            for (var i = 0; i < fields.Length; i++)
            {
                if (!property.NameEquals(fields[i])) continue;
                if (++counts[i] == 2) throw Invalid(source, line, $"has \"{fields[i]}\" twice; keep one of them");
            }
        }
    }

    /// <summary>A string field; a \u escape that is half a character (a lone surrogate) is a dataset error, not an InvalidOperationException.</summary>
    private static string StringValue(JsonElement value, string source, int? line, string field)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw Invalid(source, line, $"has a \"{field}\" holding a \\u escape that is half of a character (a lone surrogate such as \\ud800); remove or complete it", e);
        }
    }

    private static string Name(JsonProperty property)
    {
        try
        {
            var name = property.Name;
            return name.Length > 40 ? name[..37] + "..." : name;
        }
        catch (InvalidOperationException)
        {
            return "(not valid text)";
        }
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
