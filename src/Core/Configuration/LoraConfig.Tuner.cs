using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using TrainableTokens.Core.Tuners.Lora;
using TunerConfig = TrainableTokens.Core.Tuners.Lora.LoraConfig;

namespace TrainableTokens.Core.Configuration;

/// <summary>The lora section as the LoRA tuner takes it (<see cref="TunerConfig"/>, which writes PEFT's adapter_config.json).</summary>
public sealed partial record LoraConfig
{
    /// <summary>The tuner's config for these settings. Call it on a section that passed <see cref="Validate()"/>.</summary>
    /// <param name="baseModel">The model folder, saved as base_model_name_or_path.</param>
    public TunerConfig ToTunerConfig(string? baseModel = null)
    {
        var (list, map) = TokenIndices();
        return new TunerConfig
        {
            R = R,
            LoraAlpha = LoraAlpha,
            LoraDropout = LoraDropout,
            TargetModules = ToTunerTargets(TargetModules),
            ExcludeModules = ToTunerTargets(ExcludeModules),
            UseRslora = UseRslora,
            Bias = Bias,
            InitLoraWeights = InitLoraWeights is { } init ? InitOf(init) ?? LoraInit.Default : LoraInit.Default,
            LayersToTransform = LayersToTransform?.ToList(),
            LayersPattern = LayersPattern is null ? null : Names(LayersPattern),
            RankPattern = Pairs(RankPattern, v => v.GetInt32()),
            AlphaPattern = Pairs(AlphaPattern, v => v.GetDouble()),
            ModulesToSave = ModulesToSave is { Count: > 0 } saved ? saved.ToList() : null,
            TrainableTokenIndices = list,
            TrainableTokenIndicesByModule = map,
            EnsureWeightTying = EnsureWeightTying,
            BaseModelNameOrPath = baseModel,
        };
    }

    /// <summary>The token ids of trainable_token_indices, all modules together, in order of first mention (empty without it).</summary>
    public IReadOnlyList<long> TokenIds()
    {
        var (list, map) = TokenIndices();
        return (list ?? map?.SelectMany(m => m.Value) ?? []).Distinct().ToList();
    }

    private (IReadOnlyList<long>? List, IReadOnlyList<KeyValuePair<string, IReadOnlyList<long>>>? Map) TokenIndices() => TrainableTokenIndices switch
    {
        { ValueKind: JsonValueKind.Array } ids => (Ids(ids), null),
        { ValueKind: JsonValueKind.Object } modules => (null, modules.EnumerateObject()
            .Select(m => new KeyValuePair<string, IReadOnlyList<long>>(m.Name, m.Value.ValueKind == JsonValueKind.Array ? Ids(m.Value) : [])).ToList()),
        _ => (null, null),
    };

    private static List<long> Ids(JsonElement ids) =>
        ids.EnumerateArray().Where(i => i.ValueKind == JsonValueKind.Number && i.TryGetInt64(out _)).Select(i => i.GetInt64()).ToList();

    internal static LoraTargets? ToTunerTargets(StringOrList? targets) => targets switch
    {
        null => null,
        { IsList: true } => LoraTargets.List(targets.Items!.Distinct(StringComparer.Ordinal).ToList()),
        _ => LoraTargets.FromString(targets.Text!),
    };

    private static IReadOnlyList<string> Names(StringOrList names) => names.IsList ? names.Items!.ToList() : [names.Text!];

    /// <summary>true, false or "gaussian" (any case, as PEFT's own check); null for anything else.</summary>
    private static LoraInit? InitOf(JsonElement init) => init.ValueKind switch
    {
        JsonValueKind.True => LoraInit.Default,
        JsonValueKind.False => LoraInit.Random,
        JsonValueKind.String when string.Equals(init.GetString(), "gaussian", StringComparison.OrdinalIgnoreCase) => LoraInit.Gaussian,
        _ => null,
    };

    private static IReadOnlyList<KeyValuePair<string, T>> Pairs<T>(JsonElement? map, Func<JsonElement, T> value) =>
        map is { ValueKind: JsonValueKind.Object } m
            ? m.EnumerateObject().Select(p => new KeyValuePair<string, T>(p.Name, value(p.Value))).ToList()
            : Array.Empty<KeyValuePair<string, T>>();
}
