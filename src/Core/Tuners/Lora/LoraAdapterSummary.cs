using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Core.Tuners.Lora;

/// <summary>What a LoRA adapter folder holds, read without loading any model: for Get-TokenAdapter. <see cref="TargetModules"/>
/// is target_modules as written; <see cref="Modules"/> are the modules the file has pairs for (the targets as resolved when
/// it was saved), with their ranks in <see cref="Ranks"/>.</summary>
public sealed record LoraAdapterSummary(
    string Path, string PeftType, int Rank, double LoraAlpha, double LoraDropout, bool UseRslora, string? TargetModules,
    string? ExcludeModules, IReadOnlyList<string> Modules, IReadOnlyDictionary<string, long> Ranks, IReadOnlyList<long> TokenIndices,
    IReadOnlyDictionary<string, IReadOnlyList<long>> TokenIndicesByModule, string? BaseModelNameOrPath, string? PeftVersion,
    IReadOnlyList<AdapterTensor> Tensors, IReadOnlyList<string> ExtraConfigKeys)
{
    private const string PairA = ".lora_A";

    /// <summary>The summary of <paramref name="folder"/> when its adapter_config.json says peft_type LORA; null for any other adapter.</summary>
    public static LoraAdapterSummary? TryRead(string folder)
    {
        var (json, _) = AdapterFolder.ReadConfigText(folder, LoraConfig.MaxFileBytes);
        try
        {
            if (JsonNode.Parse(json) is not JsonObject o || o["peft_type"] is not JsonValue v || v.GetValueKind() != JsonValueKind.String || (string)v! != LoraConfig.PeftType)
                return null;
        }
        catch (JsonException)
        {
            return null; // Not JSON: the Trainable Tokens reader says what is wrong with it.
        }
        return Read(folder);
    }

    public static LoraAdapterSummary Read(string folder)
    {
        var config = LoraAdapterFolder.ReadConfig(folder);
        using var weights = AdapterFolder.OpenWeights(folder);
        var tensors = weights.Tensors.Select(t => new AdapterTensor(t.Name, ModuleOf(t.Name), t.Shape, t.DType.ToString())).ToList();
        // A's first dimension is the module's rank (r, or its rank_pattern entry).
        var ranks = tensors.Where(t => t.Name.Contains(PairA + ".", StringComparison.Ordinal) && t.Shape.Length == 2)
            .GroupBy(t => t.ModulePath).ToDictionary(g => g.Key, g => g.First().Shape[0], StringComparer.Ordinal);
        var byModule = config.TrainableTokenIndicesByModule?.ToDictionary(m => m.Key, m => m.Value, StringComparer.Ordinal)
            ?? new Dictionary<string, IReadOnlyList<long>>(StringComparer.Ordinal);
        var tokens = config.TrainableTokenIndices ?? byModule.Values.SelectMany(v => v).Distinct().ToList();
        return new LoraAdapterSummary(System.IO.Path.GetFullPath(folder), LoraConfig.PeftType, config.R, config.LoraAlpha, config.LoraDropout,
            config.UseRslora, config.TargetModules?.ToString() ?? $"(PEFT's default: [{string.Join(", ", LoraModel.DefaultTargets)}])",
            config.ExcludeModules?.ToString(), ranks.Keys.ToList(), ranks, tokens, byModule, config.BaseModelNameOrPath,
            config.ExtraFields.TryGetValue("peft_version", out var version) && version is JsonValue s && s.GetValueKind() == JsonValueKind.String ? (string)s! : null,
            tensors, config.ExtraFields.Keys.Where(k => k != "peft_version").ToList());
    }

    /// <summary>The module a LoRA key belongs to: base_model.model.{path}.lora_A.weight gives {path}.</summary>
    private static string ModuleOf(string key)
    {
        var name = key.StartsWith(LoraAdapterFolder.KeyPrefix, StringComparison.Ordinal) ? key[LoraAdapterFolder.KeyPrefix.Length..] : key;
        foreach (var part in new[] { PairA + ".", ".lora_B." })
        {
            var at = name.LastIndexOf(part, StringComparison.Ordinal);
            if (at > 0) return name[..at];
        }
        return AdapterFolder.ModulePathOf(key) ?? "";
    }
}
