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

    /// <summary>Real tokenizer.json files reach ~35 MB (Gemma's 262k-piece vocabulary); ten times that is not a tokenizer.</summary>
    public const long MaxBytes = 384L << 20;

    /// <summary>Real files nest 6 deep (a Sequence of Splits with a pattern); 64 is also the library's own limit.</summary>
    public const int MaxDepth = 64;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = MaxDepth };

    /// <summary>The file's checked ids (see <see cref="TokenizerJsonCheck"/>).</summary>
    public TokenizerVocabulary Vocabulary { get; private set; } = null!;

    public static TokenizerJson Read(string path)
    {
        if (IO.FileKind.Of(path) == IO.FileKindValue.Missing)
            throw new InvalidTokenizerException(
                $"'{path}' does not exist. Point -Model at a Hugging Face model or tokenizer folder that holds tokenizer.json " +
                "(a folder with only a slow tokenizer, such as tokenizer.model or vocab.json + merges.txt, must be converted first: " +
                "in Python, AutoTokenizer.from_pretrained(folder).save_pretrained(folder) writes tokenizer.json).", path);
        var bytes = IO.UserFile.ReadAllBytes(path, MaxBytes, FileName, message => new InvalidTokenizerException(message, path));
        return Parse(path, bytes);
    }

    /// <summary>Checks <paramref name="bytes"/> (strict UTF-8 JSON, bounded depth, the structure <see cref="TokenizerJsonCheck"/> wants) and indexes its top-level values.</summary>
    public static TokenizerJson Parse(string path, byte[] bytes)
    {
        // Python's json and the Rust library both refuse a byte-order mark; the file is otherwise fine, so drop it.
        if (bytes.AsSpan().StartsWith(Utf8Bom)) bytes = bytes[Utf8Bom.Length..];
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
            IO.UserFile.DecodeUtf8(bytes, path, FileName, message => new InvalidTokenizerException(message + " " + TokenizerJsonCheck.Fix, path));
        var values = new List<(string, int, int)>();
        JsonDocument document;
        try
        {
            TokenizerJsonCheck.UnpairedSurrogates(bytes, path, TokenizerJsonCheck.Fix);
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = MaxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new InvalidTokenizerException($"'{path}' is not a tokenizer.json: it must hold one JSON object. {TokenizerJsonCheck.Fix}", path);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                values.Add((name, start, (int)reader.BytesConsumed));
            }
            document = JsonDocument.Parse(bytes, DocumentOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidTokenizerException(
                $"'{path}' is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {JsonProblem(e)} {TokenizerJsonCheck.Fix}", path, e);
        }
        using (document)
            return new TokenizerJson(path, bytes, values) { Vocabulary = TokenizerJsonCheck.Check(path, document.RootElement) };
    }

    /// <summary>System.Text.Json's message without its position suffix, and without the pages of input it may quote.</summary>
    internal static string JsonProblem(JsonException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut > 0) message = message[..cut];
        message = message.ReplaceLineEndings(" ").Trim();
        return message.Length <= 200 ? message : message[..200] + "...";
    }

    private static readonly byte[] Utf8Bom = { 0xEF, 0xBB, 0xBF };

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
