using System;
using System.Collections.Generic;
using System.Text.Json;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// The special tokens tokenizer.json's post-processor puts around a single sequence (add_special_tokens=True):
/// TemplateProcessing's "single" template (Llama's &lt;s&gt;, Gemma's &lt;bos&gt;), BERT and RoBERTa's [CLS]/[SEP],
/// none for ByteLevel, and a Sequence of these in order. Every id it adds must be one the tokenizer has, or a model
/// would later be asked for a row it does not have.
/// </summary>
internal sealed record PostProcessorTemplate(IReadOnlyList<int> Prefix, IReadOnlyList<int> Suffix)
{
    public static readonly PostProcessorTemplate None = new(Array.Empty<int>(), Array.Empty<int>());

    /// <param name="processor">The post_processor value (null when the file has none).</param>
    /// <param name="path">The tokenizer.json, for messages.</param>
    /// <param name="known">Every id of the vocabulary and the added tokens.</param>
    public static PostProcessorTemplate Parse(JsonElement processor, string path, IReadOnlySet<int> known)
    {
        var problems = new TokenizerProblems(path);
        var template = Parse(processor, "post_processor", known, problems) ?? None;
        problems.ThrowIfAny(TokenizerJsonCheck.Fix);
        return template;
    }

    private static PostProcessorTemplate? Parse(JsonElement processor, string field, IReadOnlySet<int> known, TokenizerProblems problems)
    {
        if (processor.ValueKind == JsonValueKind.Null) return None;
        if (processor.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{field} must be an object or null, not {TokenizerJsonCheck.Kind(processor)}");
            return null;
        }
        var type = processor.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        switch (type)
        {
            case "ByteLevel":
                return None;
            case "Sequence":
                if (!processor.TryGetProperty("processors", out var parts) || parts.ValueKind != JsonValueKind.Array)
                {
                    problems.Add($"{field} is a Sequence without a \"processors\" list");
                    return null;
                }
                var prefix = new List<int>();
                var suffix = new List<int>();
                var index = 0;
                foreach (var inner in parts.EnumerateArray())
                {
                    if (Parse(inner, $"{field}.processors[{index++}]", known, problems) is not { } part) continue;
                    prefix.AddRange(part.Prefix);
                    suffix.InsertRange(0, part.Suffix);
                }
                return new PostProcessorTemplate(prefix, suffix);
            case "BertProcessing":
            case "RobertaProcessing":
                var cls = PairId(processor, field, "cls", known, problems);
                var sep = PairId(processor, field, "sep", known, problems);
                return cls is { } c && sep is { } s ? new PostProcessorTemplate(new[] { c }, new[] { s }) : null;
            case "TemplateProcessing":
                return Template(processor, field, known, problems);
            default:
                problems.Add($"{field} type {TokenizerProblems.Quote(type)} is not supported (supported: TemplateProcessing, ByteLevel, BertProcessing, " +
                    "RobertaProcessing, Sequence); report the model's name so support can be added");
                return null;
        }
    }

    private static int? PairId(JsonElement processor, string field, string name, IReadOnlySet<int> known, TokenizerProblems problems)
    {
        if (!processor.TryGetProperty(name, out var pair) || pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2 ||
            pair[0].ValueKind != JsonValueKind.String)
        {
            problems.Add($"{field}.{name} must be [token, id]");
            return null;
        }
        return KnownId(pair[1], $"{field}.{name}[1]", known, problems);
    }

    private static int? KnownId(JsonElement value, string field, IReadOnlySet<int> known, TokenizerProblems problems)
    {
        if (TokenizerJsonCheck.Id(value, field, problems) is not { } id) return null;
        if (known.Contains(id)) return id;
        problems.Add($"{field} is id {id}, which neither model.vocab nor added_tokens has");
        return null;
    }

    private static PostProcessorTemplate? Template(JsonElement processor, string field, IReadOnlySet<int> known, TokenizerProblems problems)
    {
        var specials = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        if (processor.TryGetProperty("special_tokens", out var table) && table.ValueKind != JsonValueKind.Null)
        {
            if (table.ValueKind != JsonValueKind.Object)
                problems.Add($"{field}.special_tokens must be an object, not {TokenizerJsonCheck.Kind(table)}");
            else
                foreach (var entry in table.EnumerateObject())
                {
                    var where = $"{field}.special_tokens[{TokenizerProblems.Quote(entry.Name)}]";
                    if (entry.Value.ValueKind != JsonValueKind.Object || !entry.Value.TryGetProperty("ids", out var ids) || ids.ValueKind != JsonValueKind.Array)
                    {
                        problems.Add($"{where} must be an object with an \"ids\" list");
                        continue;
                    }
                    var list = new List<int>();
                    var i = 0;
                    foreach (var id in ids.EnumerateArray())
                        if (KnownId(id, $"{where}.ids[{i++}]", known, problems) is { } ok) list.Add(ok);
                    specials[entry.Name] = list;
                }
        }
        if (!processor.TryGetProperty("single", out var single) || single.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"{field} has no \"single\" template list");
            return null;
        }
        var prefix = new List<int>();
        var suffix = new List<int>();
        var seenSequence = false;
        var index = 0;
        foreach (var piece in single.EnumerateArray())
        {
            var where = $"{field}.single[{index++}]";
            if (piece.ValueKind == JsonValueKind.Object && piece.TryGetProperty("Sequence", out _))
            {
                seenSequence = true;
                continue;
            }
            if (piece.ValueKind != JsonValueKind.Object || !piece.TryGetProperty("SpecialToken", out var special) || special.ValueKind != JsonValueKind.Object ||
                !special.TryGetProperty("id", out var name) || name.ValueKind != JsonValueKind.String)
            {
                problems.Add($"{where} must be {{\"Sequence\": ...}} or {{\"SpecialToken\": {{\"id\": \"...\"}}}}");
                continue;
            }
            if (!specials.TryGetValue(name.GetString()!, out var ids))
            {
                problems.Add($"{where} uses special token {TokenizerProblems.Quote(name.GetString())}, which {field}.special_tokens lacks");
                continue;
            }
            (seenSequence ? suffix : prefix).AddRange(ids);
        }
        return new PostProcessorTemplate(prefix, suffix);
    }
}
