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
    /// <summary>PEFT writes one token id per line: a million ids are about 14 MB. Past this it is not an adapter config.</summary>
    public const long MaxFileBytes = 32L << 20;

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

    /// <summary>Parses adapter_config.json text through the generated config class (the schema is the single source of
    /// truth for PEFT's fields); <paramref name="source"/> names the file in errors.</summary>
    public static TrainableTokensAdapterConfig FromJson(string json, string source)
    {
        Configuration.TrainableTokensConfig peft;
        try
        {
            peft = Configuration.TrainableTokensConfig.FromPeftJson(json, source);
        }
        catch (InvalidConfigException e)
        {
            throw new InvalidAdapterException(
                $"'{source}' is not a Trainable Tokens adapter config this module can use. {e.Message}", source, e);
        }
        return From(peft);
    }

    /// <summary>The adapter settings of a run file's (or adapter_config.json's) validated trainable_tokens section.</summary>
    public static TrainableTokensAdapterConfig From(Configuration.TrainableTokensConfig peft)
    {
        ArgumentNullException.ThrowIfNull(peft);
        return new TrainableTokensAdapterConfig
        {
            TokenIndices = peft.TokenIndices.Select(i => (long)i).ToList(),
            TargetModules = peft.TargetModules switch
            {
                null => null,
                { IsList: true } list => TargetModules.Names(list.Items!),
                var text => TargetModules.Regex(text.Text!),
            },
            InitWeights = peft.InitWeights,
            TaskType = peft.TaskType,
            InferenceMode = peft.InferenceMode,
            BaseModelNameOrPath = peft.BaseModelNameOrPath,
            Revision = peft.Revision,
            Version = peft.PeftVersion,
            AutoMapping = peft.AutoMapping is { } mapping ? JsonNode.Parse(mapping.GetRawText()) : null,
            ExtraFields = peft.ExtensionData.ToDictionary(kv => kv.Key, kv => JsonNode.Parse(kv.Value.GetRawText())),
        };
    }

    /// <summary>This config with an unset target_modules resolved to <paramref name="embeddingPath"/>, the model's input
    /// embedding: PEFT saves an inferred target as the module's full name, a string it treats as a regex.</summary>
    public TrainableTokensAdapterConfig WithTargetsResolved(string embeddingPath) =>
        TargetModules is null ? this with { TargetModules = Tuners.TrainableTokens.TargetModules.Regex(embeddingPath) } : this;

    /// <summary>The config as an adapter folder holds it: PEFT's save_pretrained writes inference_mode true whatever the
    /// training state was.</summary>
    public TrainableTokensAdapterConfig AsSaved() => this with { InferenceMode = true };

    /// <summary>adapter_config.json as PEFT writes it (sorted keys, two-space indent), written by the generated config class.</summary>
    public string ToJson()
    {
        var peft = new Configuration.TrainableTokensConfig
        {
            TokenIndices = TokenIndices.Select(i => checked((int)i)).ToList(),
            TargetModules = TargetModules is null ? null
                : TargetModules.NameList is { } names ? Configuration.StringOrList.FromList(names) : Configuration.StringOrList.FromString(TargetModules.Pattern!),
            InitWeights = InitWeights,
            TaskType = TaskType,
            InferenceMode = InferenceMode,
            BaseModelNameOrPath = BaseModelNameOrPath,
            Revision = Revision,
            PeftVersion = Version,
            AutoMapping = AutoMapping is null ? null : JsonDocument.Parse(AutoMapping.ToJsonString()).RootElement.Clone(),
            ExtensionData = ExtraFields.ToDictionary(kv => kv.Key, kv => JsonDocument.Parse(kv.Value?.ToJsonString() ?? "null").RootElement.Clone()),
        };
        return peft.ToPeftJson();
    }
}
