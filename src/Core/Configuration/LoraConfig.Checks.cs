using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using LoraTargets = TrainableTokens.Core.Tuners.Lora.LoraTargets;

namespace TrainableTokens.Core.Configuration;

/// <summary>The lora section's checks the schema cannot say: PEFT's free-form fields (init_lora_weights, rank_pattern,
/// alpha_pattern, trainable_token_indices) read for what they mean, and what this module cannot train refused by name.</summary>
public sealed partial record LoraConfig
{
    /// <summary>As trainable_tokens.token_indices: 2^20 ids bound what a run file may hold.</summary>
    private const int MaxTokenIds = 1 << 20;

    partial void OnValidate(ConfigValidator check)
    {
        if (Bias is "all" or "lora_only" && !check.ReadFailed("bias"))
            check.Error("bias", $"bias is '{Bias}', but this module trains no biases with LoRA. Set bias: none (PEFT's default).");
        if (InitLoraWeights is { } init && !check.ReadFailed("init_lora_weights") && InitOf(init) is null)
            check.Error("init_lora_weights", $"init_lora_weights is {init.GetRawText()}; supported are true, false and gaussian (PiSSA, OLoRA, LoftQ, EVA and CorDA are not). Remove it to start as PEFT does (true).");
        CheckTargets(check, "target_modules", TargetModules);
        CheckTargets(check, "exclude_modules", ExcludeModules);
        if (ExcludeModules is { IsList: false } ex && string.Equals(ex.Text, LoraTargets.AllLinearText, StringComparison.OrdinalIgnoreCase))
            check.Error("exclude_modules", "exclude_modules cannot be all-linear: it would exclude every target. List the modules to leave out.");
        CheckPattern(check, "rank_pattern", RankPattern, v => v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var r) && r >= 1 && r <= int.MaxValue, "a rank, a whole number of at least 1");
        CheckPattern(check, "alpha_pattern", AlphaPattern, v => v.ValueKind == JsonValueKind.Number && v.GetDouble() > 0, "an alpha, a number above 0");
        if (ModulesToSave is { Count: > 0 } saved && !check.ReadFailed("modules_to_save") && saved.Any(string.IsNullOrWhiteSpace))
            check.Error("modules_to_save", "modules_to_save lists an empty name. Name modules such as lm_head or embed_tokens, or remove the entry.");
        CheckTokenIndices(check);
        if (!check.ReadFailed("layers_to_transform") && !check.ReadFailed("layers_pattern") && !check.ReadFailed("target_modules")
            && ToTunerTargets(TargetModules) is var targets && LayerSelection(targets) is { } problem)
            check.Error(problem.Field, $"{problem.Field} {problem.Message}");
    }

    private (string Field, string Message)? LayerSelection(LoraTargets? targets) =>
        new Tuners.Lora.LoraConfig { TargetModules = targets, LayersToTransform = LayersToTransform, LayersPattern = LayersPattern is null ? null : Names(LayersPattern) }
            .LayerSelectionProblem();

    private static void CheckTargets(ConfigValidator check, string key, StringOrList? targets)
    {
        if (targets is not { IsList: false } || check.ReadFailed(key)) return;
        var text = targets.Text!;
        if (text.Length == 0)
        {
            check.Error(key, $"{key} is an empty string. Give module names as a list (such as [q_proj, v_proj]), a regular expression, or all-linear.");
            return;
        }
        if (string.Equals(text, LoraTargets.AllLinearText, StringComparison.OrdinalIgnoreCase)) return;
        try
        {
            _ = new Regex(text, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            check.Error(key, $"{key} '{text}' is not a valid regular expression: {e.Message} Give a list of module names instead, such as [q_proj, v_proj].");
        }
    }

    private static void CheckPattern(ConfigValidator check, string key, JsonElement? pattern, Func<JsonElement, bool> valid, string what)
    {
        if (pattern is not { } map || check.ReadFailed(key)) return;
        var bad = map.EnumerateObject().Where(p => !valid(p.Value)).Select(p => $"{p.Name}: {p.Value.GetRawText()}").ToList();
        if (bad.Count > 0)
            check.Error(key, $"{key} maps each module to {what}; these do not: {Preview(bad)}.");
        foreach (var p in map.EnumerateObject())
        {
            try
            {
                _ = new Regex(p.Name, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                check.Error(key, $"{key} key '{p.Name}' is not a valid regular expression: {e.Message}");
            }
        }
    }

    private void CheckTokenIndices(ConfigValidator check)
    {
        const string key = "trainable_token_indices";
        if (TrainableTokenIndices is not { } value || check.ReadFailed(key)) return;
        if (value.ValueKind == JsonValueKind.Array)
        {
            CheckIds(check, key, "", value);
            return;
        }
        if (!value.EnumerateObject().Any())
            check.Error(key, $"{key} is an empty mapping. Give a list of token ids (such as [5, 6]) for the input embedding, or map module names to ids (such as {{embed_tokens: [5, 6]}}).");
        foreach (var module in value.EnumerateObject())
        {
            if (module.Value.ValueKind != JsonValueKind.Array)
                check.Error(key, $"{key}.{module.Name} is {module.Value.GetRawText()}, but must be a list of token ids such as [5, 6].");
            else CheckIds(check, key, module.Name, module.Value);
        }
    }

    private static void CheckIds(ConfigValidator check, string key, string module, JsonElement ids)
    {
        var at = module.Length == 0 ? key : $"{key}.{module}";
        var count = ids.GetArrayLength();
        if (count == 0)
        {
            check.Error(key, $"{at} is empty. List the token ids to train, such as [5, 6], or remove it.");
            return;
        }
        if (count > MaxTokenIds)
        {
            check.Error(key, $"{at} lists {count} ids; at most {MaxTokenIds} are allowed.");
            return;
        }
        var bad = new List<string>();
        var seen = new HashSet<long>();
        var repeated = new List<long>();
        foreach (var id in ids.EnumerateArray())
        {
            if (id.ValueKind == JsonValueKind.Number && id.TryGetInt64(out var v) && v >= 0 && v <= int.MaxValue)
            {
                if (!seen.Add(v)) repeated.Add(v);
            }
            else bad.Add(id.GetRawText());
        }
        if (bad.Count > 0)
            check.Error(key, $"{at} must hold token ids, whole numbers from 0; these are not: {Preview(bad)}. Take ids from the model's tokenizer.");
        if (repeated.Count > 0)
            check.Error(key, $"{at} lists token id{(repeated.Count == 1 ? "" : "s")} {Preview(repeated.Distinct().Select(r => r.ToString(CultureInfo.InvariantCulture)).ToList())} more than once; list each id once.");
    }

    private static string Preview(IReadOnlyList<string> items) =>
        string.Join(", ", items.Take(5)) + (items.Count > 5 ? $" and {items.Count - 5} more" : "");
}
