using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.Json;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// What tokenizer_config.json says beyond tokenizer.json: the bos/eos/pad/unk tokens, the chat template and whether
/// decoding cleans up spaces. Missing file or fields mean "not set", as in transformers.
/// </summary>
public sealed record TokenizerConfig
{
    public const string FileName = "tokenizer_config.json";

    public string? Path { get; init; }
    public string? BosToken { get; init; }
    public string? EosToken { get; init; }
    public string? PadToken { get; init; }
    public string? UnkToken { get; init; }
    /// <summary>The default chat template (Jinja source), when the file has one.</summary>
    public string? ChatTemplate { get; init; }
    /// <summary>add_bos_token / add_eos_token when the file sets them (null when it does not).</summary>
    public bool? AddBosToken { get; init; }
    public bool? AddEosToken { get; init; }
    /// <summary>tokenizer_class, e.g. "LlamaTokenizer", "PreTrainedTokenizerFast".</summary>
    public string? TokenizerClass { get; init; }
    /// <summary>transformers' clean_up_tokenization_spaces (its default, false, when the file does not say).</summary>
    public bool CleanUpTokenizationSpaces { get; init; }

    /// <summary>transformers 4.43+ may save the chat template beside the config; that file wins over the config's field.</summary>
    public const string ChatTemplateFileName = "chat_template.jinja";

    /// <summary>Real configs are at most a few MB (a long added_tokens_decoder and chat templates).</summary>
    public const long MaxBytes = 64L << 20;

    /// <summary>A chat template is Jinja source of a few KB.</summary>
    public const long MaxTemplateBytes = 4L << 20;

    private const string Fix = "Fix the file, or download the tokenizer again.";

    public static TokenizerConfig ReadFolder(string folder)
    {
        var config = ReadConfig(folder);
        var template = System.IO.Path.Combine(folder, ChatTemplateFileName);
        if (IO.FileKind.Of(template) == IO.FileKindValue.Missing) return config;
        var text = IO.UserFile.ReadAllText(template, MaxTemplateBytes, "chat template", message => new InvalidTokenizerException(message, template));
        return config with { ChatTemplate = text, ChatTemplatePath = template };
    }

    /// <summary>The file the chat template came from (tokenizer_config.json or chat_template.jinja), for messages.</summary>
    public string? ChatTemplatePath { get; init; }

    /// <summary>
    /// Reads tokenizer_config.json (strict UTF-8, bounded size and depth, no key twice) and checks the fields this module
    /// uses; the rest (model_max_length, sp_model_kwargs, ...) is transformers' business and is left as it is.
    /// </summary>
    internal static JsonDocument ParseFile(string path)
    {
        var bytes = IO.UserFile.ReadAllBytes(path, MaxBytes, FileName, message => new InvalidTokenizerException(message, path));
        if (bytes.AsSpan().StartsWith(Utf8Bom)) bytes = bytes[Utf8Bom.Length..];
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
            IO.UserFile.DecodeUtf8(bytes, path, FileName, message => new InvalidTokenizerException(message + " " + Fix, path));
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip, MaxDepth = TokenizerJson.MaxDepth });
            TokenizerJsonCheck.UnpairedSurrogates(bytes, path, Fix);
        }
        catch (JsonException e)
        {
            throw new InvalidTokenizerException($"'{path}' is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {TokenizerJson.JsonProblem(e)} {Fix}", path, e);
        }
        var problems = new TokenizerProblems(path);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            problems.Add($"it must hold a JSON object, not {TokenizerJsonCheck.Kind(doc.RootElement)}");
        else
            Check(doc.RootElement, problems);
        if (problems.Count > 0) doc.Dispose();
        problems.ThrowIfAny(Fix);
        return doc;
    }

    private static TokenizerConfig ReadConfig(string folder)
    {
        var path = System.IO.Path.Combine(folder, FileName);
        if (IO.FileKind.Of(path) == IO.FileKindValue.Missing) return new TokenizerConfig();
        using var doc = ParseFile(path);
        var root = doc.RootElement;
        return new TokenizerConfig
        {
            Path = path,
            BosToken = TokenText(root, "bos_token"),
            EosToken = TokenText(root, "eos_token"),
            PadToken = TokenText(root, "pad_token"),
            UnkToken = TokenText(root, "unk_token"),
            ChatTemplate = Template(root),
            ChatTemplatePath = path,
            CleanUpTokenizationSpaces = Flag(root, "clean_up_tokenization_spaces") ?? false,
            AddBosToken = Flag(root, "add_bos_token"),
            AddEosToken = Flag(root, "add_eos_token"),
            TokenizerClass = root.TryGetProperty("tokenizer_class", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null,
        };
    }

    private static readonly string[] TokenFields = { "bos_token", "eos_token", "pad_token", "unk_token" };
    private static readonly string[] FlagFields = { "clean_up_tokenization_spaces", "add_bos_token", "add_eos_token" };
    private static readonly byte[] Utf8Bom = { 0xEF, 0xBB, 0xBF };

    private static void Check(JsonElement root, TokenizerProblems problems)
    {
        TokenizerJsonCheck.DuplicateKeys(root, "", problems);
        foreach (var name in TokenFields)
        {
            if (!root.TryGetProperty(name, out var value)) continue;
            var ok = value.ValueKind is JsonValueKind.Null or JsonValueKind.String ||
                     (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String);
            if (!ok) problems.Add($"\"{name}\" is {TokenizerJsonCheck.Kind(value)}; it must be a string, an object with \"content\", or null");
        }
        foreach (var name in FlagFields)
            if (root.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
                problems.Add($"\"{name}\" is {TokenizerJsonCheck.Kind(value)}; it must be true or false");
        if (root.TryGetProperty("tokenizer_class", out var cls) && cls.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            problems.Add($"\"tokenizer_class\" is {TokenizerJsonCheck.Kind(cls)}; it must be a string such as \"LlamaTokenizerFast\"");
        if (root.TryGetProperty("chat_template", out var template))
            CheckTemplate(template, problems);
        if (root.TryGetProperty("added_tokens_decoder", out var decoder))
            CheckDecoder(decoder, problems);
    }

    private static void CheckTemplate(JsonElement template, TokenizerProblems problems)
    {
        if (template.ValueKind is JsonValueKind.String or JsonValueKind.Null) return;
        if (template.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"\"chat_template\" is {TokenizerJsonCheck.Kind(template)}; it must be a string or a list of {{\"name\", \"template\"}}");
            return;
        }
        var index = 0;
        foreach (var item in template.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String ||
                !item.TryGetProperty("template", out var t) || t.ValueKind != JsonValueKind.String)
                problems.Add($"chat_template[{index}] must be {{\"name\": \"...\", \"template\": \"...\"}}");
            index++;
        }
    }

    /// <summary>added_tokens_decoder: id (a string of digits) to an AddedToken object; Add-TokenizerToken extends it.</summary>
    private static void CheckDecoder(JsonElement decoder, TokenizerProblems problems)
    {
        if (decoder.ValueKind == JsonValueKind.Null) return;
        if (decoder.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"\"added_tokens_decoder\" is {TokenizerJsonCheck.Kind(decoder)}; it must be an object of id to token");
            return;
        }
        foreach (var entry in decoder.EnumerateObject())
        {
            var field = $"added_tokens_decoder[{TokenizerProblems.Quote(entry.Name)}]";
            if (!int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id > TokenizerJsonCheck.MaxId)
                problems.Add($"{field}: the key must be a token id, a whole number from 0 to {TokenizerJsonCheck.MaxId}");
            if (entry.Value.ValueKind != JsonValueKind.Object || !entry.Value.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
                problems.Add($"{field} must be an object with \"content\"");
        }
    }

    private static bool? Flag(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    /// <summary>A special token is written as a string or, by older transformers, as an AddedToken object with "content".</summary>
    private static string? TokenText(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object => value.GetProperty("content").GetString(),
            _ => null,
        };
    }

    /// <summary>chat_template is one template, or a list of named ones of which "default" is used.</summary>
    private static string? Template(JsonElement root)
    {
        if (!root.TryGetProperty("chat_template", out var value)) return null;
        if (value.ValueKind == JsonValueKind.String) return value.GetString();
        if (value.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in value.EnumerateArray())
                if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("name", out var n) && n.ValueEquals("default") &&
                    item.TryGetProperty("template", out var t) && t.ValueKind == JsonValueKind.String)
                    return t.GetString();
            return null;
        }
        return null;
    }
}
