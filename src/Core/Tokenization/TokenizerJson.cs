using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// The bytes of a tokenizer.json and where each top-level value sits in them. Edits replace whole top-level values
/// (added_tokens, post_processor, ...) and keep every other byte as it was, so a 30 MB vocabulary is never parsed into
/// objects and written back, and a file we change differs from the original only where we changed it.
/// </summary>
internal sealed class TokenizerJson
{
    public const string FileName = "tokenizer.json";

    private readonly List<(string Name, int Start, int End)> _values;

    private TokenizerJson(string path, byte[] bytes, List<(string, int, int)> values)
    {
        Path = path;
        Bytes = bytes;
        _values = values;
    }

    public string Path { get; }
    public byte[] Bytes { get; }

    public static TokenizerJson Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException e)
        {
            throw new InvalidTokenizerException(
                $"'{path}' does not exist. Point -Model at a Hugging Face model or tokenizer folder that holds tokenizer.json " +
                "(a folder with only a slow tokenizer, such as tokenizer.model or vocab.json + merges.txt, must be converted first: " +
                "in Python, AutoTokenizer.from_pretrained(folder).save_pretrained(folder) writes tokenizer.json).", path, e);
        }
        return Parse(path, bytes);
    }

    public static TokenizerJson Parse(string path, byte[] bytes)
    {
        var values = new List<(string, int, int)>();
        try
        {
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new InvalidTokenizerException($"'{path}' is not a tokenizer.json: it must hold one JSON object.", path);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                values.Add((name, start, (int)reader.BytesConsumed));
            }
        }
        catch (JsonException e)
        {
            throw new InvalidTokenizerException(
                $"'{path}' is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message} Download the tokenizer again.", path, e);
        }
        return new TokenizerJson(path, bytes, values);
    }

    public bool Has(string name) => _values.Exists(v => v.Name == name);

    /// <summary>The raw JSON of top-level value <paramref name="name"/>, or null when the file has none.</summary>
    public ReadOnlyMemory<byte>? Value(string name)
    {
        foreach (var (n, start, end) in _values)
            if (n == name) return Bytes.AsMemory(start, end - start);
        return null;
    }

    public JsonDocument Document(string name) =>
        Value(name) is { } raw ? JsonDocument.Parse(raw) : JsonDocument.Parse("null");

    /// <summary>
    /// A copy of the file with the given top-level values replaced by raw JSON text. A name the file lacks is added
    /// at the end of the object.
    /// </summary>
    public byte[] With(IReadOnlyDictionary<string, string> replacements)
    {
        using var output = new MemoryStream(Bytes.Length + 1024);
        var position = 0;
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, start, end) in _values)
        {
            if (!replacements.TryGetValue(name, out var json)) continue;
            output.Write(Bytes, position, start - position);
            output.Write(Encoding.UTF8.GetBytes(json));
            position = end;
            done.Add(name);
        }
        var close = Array.LastIndexOf(Bytes, (byte)'}');
        output.Write(Bytes, position, close - position);
        foreach (var (name, json) in replacements)
        {
            if (done.Contains(name)) continue;
            output.Write(Encoding.UTF8.GetBytes($",\n  {JsonSerializer.Serialize(name)}: {json}"));
        }
        output.Write(Bytes, close, Bytes.Length - close);
        return output.ToArray();
    }
}
