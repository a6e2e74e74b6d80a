using System;
using System.Collections.Generic;
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

    public static TokenizerConfig ReadFolder(string folder)
    {
        var config = ReadConfig(folder);
        var template = System.IO.Path.Combine(folder, ChatTemplateFileName);
        return File.Exists(template) ? config with { ChatTemplate = File.ReadAllText(template), ChatTemplatePath = template } : config;
    }

    /// <summary>The file the chat template came from (tokenizer_config.json or chat_template.jinja), for messages.</summary>
    public string? ChatTemplatePath { get; init; }

    private static TokenizerConfig ReadConfig(string folder)
    {
        var path = System.IO.Path.Combine(folder, FileName);
        if (!File.Exists(path)) return new TokenizerConfig();
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidTokenizerException($"'{path}' must hold a JSON object.", path);
            return new TokenizerConfig
            {
                Path = path,
                BosToken = TokenText(root, "bos_token", path),
                EosToken = TokenText(root, "eos_token", path),
                PadToken = TokenText(root, "pad_token", path),
                UnkToken = TokenText(root, "unk_token", path),
                ChatTemplate = Template(root, path),
                ChatTemplatePath = path,
                CleanUpTokenizationSpaces = root.TryGetProperty("clean_up_tokenization_spaces", out var c) && c.ValueKind == JsonValueKind.True,
                AddBosToken = Flag(root, "add_bos_token"),
                AddEosToken = Flag(root, "add_eos_token"),
                TokenizerClass = root.TryGetProperty("tokenizer_class", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null,
            };
        }
        catch (JsonException e)
        {
            throw new InvalidTokenizerException($"'{path}' is not valid JSON (line {e.LineNumber + 1}): {e.Message} Fix or remove the file.", path, e);
        }
    }

    private static bool? Flag(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    /// <summary>A special token is written as a string or, by older transformers, as an AddedToken object with "content".</summary>
    private static string? TokenText(JsonElement root, string name, string path)
    {
        if (!root.TryGetProperty(name, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object when value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String => content.GetString(),
            _ => throw new InvalidTokenizerException($"'{path}': \"{name}\" must be a string, an object with \"content\", or null, not {value.GetRawText()}.", path),
        };
    }

    /// <summary>chat_template is one template, or a list of named ones of which "default" is used.</summary>
    private static string? Template(JsonElement root, string path)
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
