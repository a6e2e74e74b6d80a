using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainableTokens.Core.IO;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// Adds tokens to a tokenizer the way transformers' <c>tokenizer.add_tokens(tokens, special_tokens=...)</c> does: each new
/// token gets the next id (<c>len(tokenizer)</c>, then one more for each), is matched whole in text, and is
/// <c>normalized</c> unless special. A token already in the vocabulary keeps its id and is reported, not added.
/// Writes tokenizer.json (only its added_tokens change), tokenizer_config.json (added_tokens_decoder) and, when the
/// folder has one, the slow tokenizers' added_tokens.json; every other byte stays as it was.
/// </summary>
public static class AddedTokensWriter
{
    private const string SlowAddedTokensFile = "added_tokens.json";

    /// <summary>The files this writer rewrites; a folder copy takes every other file unchanged.</summary>
    public static readonly IReadOnlyList<string> RewrittenFiles = new[] { TokenizerJson.FileName, TokenizerConfig.FileName, SlowAddedTokensFile };

    /// <summary>Plans the additions against <paramref name="tokenizer"/> without writing anything.</summary>
    public static IReadOnlyList<TokenAddition> Plan(ModelTokenizer tokenizer, IEnumerable<string> tokens, bool special)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var result = new List<TokenAddition>();
        var next = tokenizer.Size;
        if (tokenizer.NextAddedId != next)
            throw new InvalidTokenizerException(
                $"'{tokenizer.TokenizerJsonPath}': tokens cannot be added to this tokenizer. Its ids run to {next - 1}, but model.vocab has only " +
                $"{tokenizer.VocabularyCount} entries, so Hugging Face's tokenizers library would give a new token id {tokenizer.NextAddedId} instead of {next}. " +
                "Adding tokens needs a vocabulary numbered from 0 without gaps; " + TokenizerJsonCheck.Fix, tokenizer.TokenizerJsonPath);
        var planned = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var token in tokens)
        {
            if (string.IsNullOrEmpty(token))
                throw new ArgumentException("A token to add is empty. Give the token's text, for example '<think>'.", nameof(tokens));
            if (tokenizer.TokenToId(token) is { } existing)
                result.Add(new TokenAddition(token, existing, tokenizer.IsSpecial(existing), Added: false,
                    $"'{token}' is already in the vocabulary with id {existing}; nothing was added for it."));
            else if (planned.TryGetValue(token, out var id))
                result.Add(new TokenAddition(token, id, special, Added: false, $"'{token}' was given more than once; it is added once, with id {id}."));
            else
            {
                planned[token] = next;
                result.Add(new TokenAddition(token, next++, special, Added: true));
            }
        }
        return result;
    }

    /// <summary>
    /// Writes the tokenizer files of <paramref name="tokenizer"/>'s folder with <paramref name="additions"/> (from
    /// <see cref="Plan"/>) into <paramref name="outputFolder"/>, which must exist. Other files are not copied.
    /// </summary>
    public static void Write(ModelTokenizer tokenizer, IReadOnlyList<TokenAddition> additions, string outputFolder)
    {
        var added = additions.Where(a => a.Added).ToList();
        var json = TokenizerJson.Read(tokenizer.TokenizerJsonPath);
        var bytes = added.Count == 0 ? json.Bytes : json.With(new Dictionary<string, string> { ["added_tokens"] = AddedTokensArray(json, added) });
        AtomicFile.WriteAllBytes(Path.Combine(outputFolder, TokenizerJson.FileName), bytes);

        var configPath = Path.Combine(tokenizer.Folder, TokenizerConfig.FileName);
        if (FileKind.Of(configPath) != FileKindValue.Missing)
            AtomicFile.WriteAllBytes(Path.Combine(outputFolder, TokenizerConfig.FileName), UpdatedConfig(configPath, added));
        var slowPath = Path.Combine(tokenizer.Folder, SlowAddedTokensFile);
        if (FileKind.Of(slowPath) != FileKindValue.Missing)
            AtomicFile.WriteAllBytes(Path.Combine(outputFolder, SlowAddedTokensFile), UpdatedSlowAddedTokens(slowPath, added));
    }

    /// <summary>The existing added_tokens array, byte for byte, with the new entries appended in Rust tokenizers' field order.</summary>
    private static string AddedTokensArray(TokenizerJson json, List<TokenAddition> added)
    {
        var existing = json.Value("added_tokens") is { } raw ? Encoding.UTF8.GetString(raw.Span).TrimEnd() : "[]";
        var body = existing[..^1].TrimEnd();
        var builder = new StringBuilder(body);
        var first = body.EndsWith('[');
        foreach (var a in added)
        {
            builder.Append(first ? "\n    " : ",\n    ");
            first = false;
            builder.Append("{\n      \"id\": ").Append(a.Id.ToString(CultureInfo.InvariantCulture))
                .Append(",\n      \"content\": ").Append(JsonSerializer.Serialize(a.Token, Json.Options))
                .Append(",\n      \"single_word\": false,\n      \"lstrip\": false,\n      \"rstrip\": false,\n      \"normalized\": ")
                .Append(a.Special ? "false" : "true").Append(",\n      \"special\": ").Append(a.Special ? "true" : "false").Append("\n    }");
        }
        return builder.Append("\n  ]").ToString();
    }

    private static byte[] UpdatedConfig(string path, List<TokenAddition> added)
    {
        JsonObject config;
        using (var doc = TokenizerConfig.ParseFile(path))
            config = (JsonObject)JsonNode.Parse(doc.RootElement.GetRawText(), documentOptions: ConfigReadOptions)!;
        if (added.Count > 0)
        {
            if (config["added_tokens_decoder"] is not JsonObject decoder)
                config["added_tokens_decoder"] = decoder = new JsonObject();
            foreach (var a in added)
                decoder[a.Id.ToString(CultureInfo.InvariantCulture)] = new JsonObject
                {
                    ["content"] = a.Token,
                    ["lstrip"] = false,
                    ["normalized"] = !a.Special,
                    ["rstrip"] = false,
                    ["single_word"] = false,
                    ["special"] = a.Special,
                };
        }
        return Encoding.UTF8.GetBytes(config.ToJsonString(Json.Indented) + "\n");
    }

    /// <summary>The slow tokenizers' added_tokens.json: an object of token to id, each checked like tokenizer.json's.</summary>
    private static byte[] UpdatedSlowAddedTokens(string path, List<TokenAddition> added)
    {
        var bytes = UserFile.ReadAllBytes(path, TokenizerConfig.MaxBytes, SlowAddedTokensFile, message => new InvalidTokenizerException(message, path));
        var problems = new TokenizerProblems(path);
        JsonObject root;
        try
        {
            using var doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = TokenizerJson.MaxDepth });
            TokenizerJsonCheck.UnpairedSurrogates(bytes, path, SlowFix);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidTokenizerException($"'{path}' must hold a JSON object of token to id, not {TokenizerJsonCheck.Kind(doc.RootElement)}. {SlowFix}", path);
            TokenizerJsonCheck.DuplicateKeys(doc.RootElement, "", problems);
            foreach (var entry in doc.RootElement.EnumerateObject())
                TokenizerJsonCheck.Id(entry.Value, $"[{TokenizerProblems.Quote(entry.Name)}]", problems);
            problems.ThrowIfAny(SlowFix);
            root = (JsonObject)JsonNode.Parse(doc.RootElement.GetRawText())!;
        }
        catch (JsonException e)
        {
            throw new InvalidTokenizerException($"'{path}' is not valid JSON (line {e.LineNumber + 1}): {TokenizerJson.JsonProblem(e)} {SlowFix}", path, e);
        }
        foreach (var a in added) root[a.Token] = a.Id;
        return Encoding.UTF8.GetBytes(root.ToJsonString(Json.Indented) + "\n");
    }

    private const string SlowFix = "Fix the file, or delete it: tokenizer.json holds the same tokens.";

    private static readonly JsonDocumentOptions ConfigReadOptions = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip, MaxDepth = TokenizerJson.MaxDepth };

    /// <summary>JSON as transformers writes it: two-space indent, non-ASCII text as is.</summary>
    private static class Json
    {
        public static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        public static readonly JsonSerializerOptions Indented = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = true };
    }
}
