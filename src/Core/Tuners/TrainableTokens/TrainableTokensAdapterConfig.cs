using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrainableTokens.Core.Tuners.TrainableTokens;

/// <summary>
/// PEFT's TrainableTokensConfig as it appears in adapter_config.json. Keys this version does not know (from newer
/// PEFT releases) are kept in <see cref="ExtraFields"/> and written back unchanged.
/// </summary>
public sealed record TrainableTokensAdapterConfig
{
    public const string PeftType = "TRAINABLE_TOKENS";
    public const string FileName = "adapter_config.json";
    /// <summary>The PEFT release whose format this writes (checked against it: tests/device/results/peft.txt).</summary>
    public const string PeftVersion = "0.21.0";

    public required IReadOnlyList<long> TokenIndices { get; init; }
    /// <summary>Null (the model's input embedding), a list of names (suffix matches), or a regex (full match).</summary>
    public TargetModules? TargetModules { get; init; }
    public bool InitWeights { get; init; } = true;
    public string? TaskType { get; init; } = "CAUSAL_LM";
    public bool InferenceMode { get; init; } = true;
    public string? BaseModelNameOrPath { get; init; }
    public string? Revision { get; init; }
    public string? Version { get; init; } = PeftVersion;
    /// <summary>PEFT's auto_mapping (the base model's class), kept as written.</summary>
    public JsonNode? AutoMapping { get; init; }
    public IReadOnlyDictionary<string, JsonNode?> ExtraFields { get; init; } = new Dictionary<string, JsonNode?>();

    private static readonly string[] KnownKeys =
    {
        "peft_type", "task_type", "token_indices", "target_modules", "init_weights", "inference_mode",
        "base_model_name_or_path", "revision", "auto_mapping", "peft_version",
    };

    /// <summary>Parses adapter_config.json text; <paramref name="source"/> names the file in errors.</summary>
    public static TrainableTokensAdapterConfig FromJson(string json, string source)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new InvalidAdapterException($"'{source}' must hold a JSON object.", source);
        }
        catch (JsonException e)
        {
            throw new InvalidAdapterException($"'{source}' is not valid JSON: {e.Message}", source, e);
        }
        string? peftType = Text(root, "peft_type", source);
        if (peftType != PeftType)
            throw new InvalidAdapterException(
                $"'{source}': peft_type is '{peftType ?? "missing"}', but this module handles '{PeftType}' adapters only.", source);
        var indices = root["token_indices"] as JsonArray
            ?? throw new InvalidAdapterException($"'{source}' has no token_indices list; a TRAINABLE_TOKENS adapter needs one.", source);
        var tokenIndices = indices.Select((n, i) => n is JsonValue v && v.TryGetValue<long>(out var id)
            ? id
            : throw new InvalidAdapterException($"'{source}': token_indices[{i}] is {n?.ToJsonString() ?? "null"}, not an integer.", source)).ToList();
        return new TrainableTokensAdapterConfig
        {
            TokenIndices = tokenIndices,
            TargetModules = root["target_modules"] switch
            {
                null => null,
                JsonValue v when v.TryGetValue<string>(out var pattern) => TargetModules.Regex(pattern),
                JsonArray a => TargetModules.Names(a.Select((n, i) => n is JsonValue s && s.TryGetValue<string>(out var name) ? name
                    : throw new InvalidAdapterException($"'{source}': target_modules[{i}] must be a string.", source)).ToList()),
                var other => throw new InvalidAdapterException($"'{source}': target_modules must be null, a string or a list of strings, not {other.ToJsonString()}.", source),
            },
            InitWeights = root["init_weights"] is JsonValue iw && iw.TryGetValue<bool>(out var init) ? init : true,
            TaskType = Text(root, "task_type", source),
            InferenceMode = root["inference_mode"] is JsonValue im && im.TryGetValue<bool>(out var mode) ? mode : true,
            BaseModelNameOrPath = Text(root, "base_model_name_or_path", source),
            Revision = Text(root, "revision", source),
            Version = Text(root, "peft_version", source),
            AutoMapping = root["auto_mapping"]?.DeepClone(),
            ExtraFields = root.Where(kv => !KnownKeys.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value?.DeepClone()),
        };
    }

    /// <summary>adapter_config.json as PEFT writes it: sorted keys, two-space indent.</summary>
    public string ToJson()
    {
        var fields = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal)
        {
            ["auto_mapping"] = AutoMapping?.DeepClone(),
            ["base_model_name_or_path"] = BaseModelNameOrPath,
            ["inference_mode"] = InferenceMode,
            ["init_weights"] = InitWeights,
            ["peft_type"] = PeftType,
            ["peft_version"] = Version,
            ["revision"] = Revision,
            ["target_modules"] = TargetModules?.ToJson(),
            ["task_type"] = TaskType,
            ["token_indices"] = new JsonArray(TokenIndices.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray()),
        };
        foreach (var (key, value) in ExtraFields) fields[key] = value?.DeepClone();
        var root = new JsonObject();
        foreach (var (key, value) in fields) root[key] = value;
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static string? Text(JsonObject root, string key, string source) => root[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        var other => throw new InvalidAdapterException($"'{source}': {key} must be a string or null, not {other.ToJsonString()}.", source),
    };
}
