using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace TrainableTokens.Core.IO;

/// <summary>
/// <c>model.safetensors.index.json</c> of a sharded Hugging Face checkpoint:
/// <c>{"metadata": {"total_size": N}, "weight_map": {"tensor name": "shard file name"}}</c>.
/// </summary>
internal static class CheckpointIndex
{
    private const long MaxIndexBytes = 100_000_000;
    /// <summary>The largest models have tens of thousands of tensors.</summary>
    private const int MaxTensors = 1_000_000;
    private const string Fix = "Download the model again, or write it again with its original tool.";

    /// <summary>The weight map in file order; every shard name is a plain file name in the index's folder.</summary>
    public static List<KeyValuePair<string, string>> Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = UserFile.ReadAllBytes(path, MaxIndexBytes, "checkpoint index", message => new InvalidSafetensorsException($"{message} {Fix}", path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Invalid(path, $"it cannot be read ({e.Message})", e);
        }
        UserFile.DecodeUtf8(bytes, path, "checkpoint index", message => new InvalidSafetensorsException($"{message} {Fix}", path));
        var json = bytes.AsMemory(bytes.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            if (json.Span.Trim(" \t\r\n"u8).IsEmpty) throw Invalid(path, "it is empty", e);
            throw Invalid(path, $"it is not valid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1} ({Reason(e)})", e);
        }
        using (document)
        {
            try
            {
                return ReadWeightMap(path, document.RootElement);
            }
            catch (InvalidOperationException e) when (e is not ObjectDisposedException)
            {
                throw Invalid(path, "it holds a \\u escape that is half of a character (a lone surrogate) in a tensor or shard name", e);
            }
        }
    }

    private static string Short(string text) => text.Length <= 80 ? text : text[..77] + "...";

    private static string Reason(JsonException e)
    {
        var message = e.Message;
        if (message.Contains("maximum configured depth", StringComparison.Ordinal)) return "values are nested more than 64 levels deep";
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd().TrimEnd('.');
    }

    private static List<KeyValuePair<string, string>> ReadWeightMap(string path, JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("weight_map", out var map))
            throw Invalid(path, "it has no \"weight_map\" object");
        if (map.ValueKind != JsonValueKind.Object)
            throw Invalid(path, "its \"weight_map\" is not an object of tensor names and shard files");
        var entries = new List<KeyValuePair<string, string>>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in map.EnumerateObject())
        {
            if (entries.Count == MaxTensors)
                throw Invalid(path, $"its \"weight_map\" lists more than {MaxTensors} tensors, far more than any model has");
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw Invalid(path, $"tensor '{Short(entry.Name)}' maps to a JSON {entry.Value.ValueKind.ToString().ToLowerInvariant()}, not a shard file name");
            var file = entry.Value.GetString()!;
            if (!IsPlainFileName(file))
                throw Invalid(path, $"tensor '{Short(entry.Name)}' maps to '{Short(file)}', which is not a file name in the checkpoint's folder");
            if (!names.Add(entry.Name))
                throw Invalid(path, $"tensor '{Short(entry.Name)}' is listed twice in \"weight_map\"");
            entries.Add(new KeyValuePair<string, string>(entry.Name, file));
        }
        if (entries.Count == 0)
            throw Invalid(path, "its \"weight_map\" lists no tensors");
        return entries;
    }

    /// <summary>Writes the index as transformers' save_pretrained does: indent 2, sorted keys, ASCII escapes, final newline.</summary>
    public static void Write(string path, long totalSize, IEnumerable<KeyValuePair<string, string>> weightMap)
    {
        var json = new StringBuilder();
        json.Append("{\n  \"metadata\": {\n    \"total_size\": ").Append(totalSize.ToString(CultureInfo.InvariantCulture)).Append("\n  },\n");
        json.Append("  \"weight_map\": {");
        var first = true;
        foreach (var (name, file) in weightMap.OrderBy(e => e.Key, CodePointOrder.Instance))
        {
            json.Append(first ? "\n    " : ",\n    ");
            json.AppendString(name, asciiOnly: true).Append(": ").AppendString(file, asciiOnly: true);
            first = false;
        }
        json.Append(first ? "}\n}\n" : "\n  }\n}\n");
        AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(json.ToString()));
    }

    private static bool IsPlainFileName(string name) =>
        name.Length > 0 && name != "." && name != ".." &&
        name.IndexOfAny(['/', '\\', '\0']) < 0 && !Path.IsPathRooted(name);

    private static InvalidSafetensorsException Invalid(string path, string problem, Exception? inner = null) =>
        new($"The checkpoint index '{path}' is not valid: {problem}. {Fix}", path, inner);
}
