using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// The special tokens tokenizer.json's post-processor puts around a single sequence (add_special_tokens=True):
/// TemplateProcessing's "single" template (Llama's &lt;s&gt;, Gemma's &lt;bos&gt;), BERT and RoBERTa's [CLS]/[SEP],
/// none for ByteLevel, and a Sequence of these in order.
/// </summary>
internal sealed record PostProcessorTemplate(IReadOnlyList<int> Prefix, IReadOnlyList<int> Suffix)
{
    public static readonly PostProcessorTemplate None = new(Array.Empty<int>(), Array.Empty<int>());

    public static PostProcessorTemplate Parse(JsonElement processor, string path)
    {
        if (processor.ValueKind == JsonValueKind.Null) return None;
        var type = processor.TryGetProperty("type", out var t) ? t.GetString() : null;
        switch (type)
        {
            case "ByteLevel":
                return None;
            case "Sequence":
                var prefix = new List<int>();
                var suffix = new List<int>();
                foreach (var inner in processor.GetProperty("processors").EnumerateArray())
                {
                    var part = Parse(inner, path);
                    prefix.AddRange(part.Prefix);
                    suffix.InsertRange(0, part.Suffix);
                }
                return new PostProcessorTemplate(prefix, suffix);
            case "BertProcessing":
            case "RobertaProcessing":
                return new PostProcessorTemplate(new[] { PairId(processor, "cls", path) }, new[] { PairId(processor, "sep", path) });
            case "TemplateProcessing":
                return Template(processor, path);
            default:
                throw new InvalidTokenizerException(
                    $"'{path}': post_processor type '{type}' is not supported (supported: TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence). " +
                    "Report the model's name so support can be added.", path);
        }
    }

    private static int PairId(JsonElement processor, string name, string path)
    {
        var pair = processor.GetProperty(name);
        if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2)
            throw new InvalidTokenizerException($"'{path}': post_processor.{name} must be [token, id].", path);
        return pair[1].GetInt32();
    }

    private static PostProcessorTemplate Template(JsonElement processor, string path)
    {
        var specials = new Dictionary<string, int[]>(StringComparer.Ordinal);
        if (processor.TryGetProperty("special_tokens", out var table) && table.ValueKind == JsonValueKind.Object)
            foreach (var entry in table.EnumerateObject())
                specials[entry.Name] = entry.Value.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray();
        var prefix = new List<int>();
        var suffix = new List<int>();
        var seenSequence = false;
        foreach (var piece in processor.GetProperty("single").EnumerateArray())
        {
            if (piece.TryGetProperty("Sequence", out _))
            {
                seenSequence = true;
                continue;
            }
            var id = piece.GetProperty("SpecialToken").GetProperty("id").GetString()!;
            if (!specials.TryGetValue(id, out var ids))
                throw new InvalidTokenizerException($"'{path}': post_processor's template uses special token '{id}', which its special_tokens table lacks.", path);
            (seenSequence ? suffix : prefix).AddRange(ids);
        }
        return new PostProcessorTemplate(prefix, suffix);
    }
}
