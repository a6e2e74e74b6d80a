using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using TrainableTokens.Core.IO;

namespace TrainableTokens.Core.Generation;

/// <summary>The ids that end generation by default: eos_token_id of config.json and generation_config.json (an id or
/// a list, as transformers accepts), and the tokenizer's eos token.</summary>
public static class EosTokenIds
{
    public const string GenerationConfigFileName = "generation_config.json";
    private const long MaxBytes = 4L << 20;

    public static List<int> Read(string modelFolder, int? tokenizerEos)
    {
        var ids = new List<int>();
        foreach (var name in new[] { Models.ModelConfigReader.FileName, GenerationConfigFileName })
        {
            var path = Path.Combine(modelFolder, name);
            if (FileKind.Of(path) == FileKindValue.Missing) continue;
            var json = UserFile.ReadAllText(path, MaxBytes, name, message => new InvalidModelFolderException(message, path));
            try
            {
                using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
                if (doc.RootElement.ValueKind != JsonValueKind.Object) continue;
                Collect(doc.RootElement, ids, path);
                // Gemma 3's multimodal config keeps the text model's ids in text_config.
                if (doc.RootElement.TryGetProperty("text_config", out var text) && text.ValueKind == JsonValueKind.Object) Collect(text, ids, path);
            }
            catch (JsonException e)
            {
                throw new InvalidModelFolderException($"'{path}' is not valid JSON (line {e.LineNumber + 1}): fix or delete it.", path, e);
            }
        }
        if (tokenizerEos is { } t && !ids.Contains(t)) ids.Add(t);
        return ids;
    }

    private static void Collect(JsonElement o, List<int> ids, string path)
    {
        if (!o.TryGetProperty("eos_token_id", out var e)) return;
        if (e.ValueKind == JsonValueKind.Array)
            foreach (var v in e.EnumerateArray()) Add(v);
        else
            Add(e);

        void Add(JsonElement v)
        {
            if (v.ValueKind == JsonValueKind.Null) return;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var id) || id < 0)
                throw new InvalidModelFolderException($"'{path}': eos_token_id must be a token id or a list of ids; it holds {Short(v.GetRawText())}. Fix the value.", path);
            if (!ids.Contains(id)) ids.Add(id);
        }
    }

    private static string Short(string s) => s.Length <= 40 ? s : s[..37] + "...";
}
