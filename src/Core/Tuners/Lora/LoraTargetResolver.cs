using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace TrainableTokens.Core.Tuners.Lora;

/// <summary>
/// Which projections a LoRA config targets, by PEFT's rules, from module paths alone: the loaded model
/// (<see cref="LoraModel.ResolveTargets"/>) and the preflight, which has only config.json, resolve the same way.
/// exclude_modules and modules_to_save come first, then a list (suffix match, layers_to_transform applied), a regex
/// (full match) or all-linear (every projection; the LM head is not one).
/// </summary>
public static class LoraTargetResolver
{
    /// <summary>The targeted paths of <paramref name="projections"/> in their order, or the problem in words (naming the
    /// field and listing what exists) with no paths.</summary>
    public static (IReadOnlyList<string> Targets, string? Problem) Resolve(LoraConfig config, IReadOnlyList<string> projections,
        string embedding, string head, string modelName = "the base model")
    {
        var targets = config.TargetModules ?? LoraTargets.List(LoraModel.DefaultTargets);
        var saved = config.ModulesToSave ?? Array.Empty<string>();
        if (!targets.IsAllLinear && (targets.Matches(embedding) || targets.Matches(head)))
            return ([], $"target_modules {targets} names {(targets.Matches(embedding) ? embedding : head)}, but LoRA on the embedding or the LM head is not supported yet. " +
                "Target the projections, and list new tokens in trainable_token_indices.");
        var matched = new List<string>();
        var excluded = 0;
        foreach (var path in projections)
        {
            if (!targets.Matches(path)) continue;
            // PEFT never puts LoRA on a module that modules_to_save copies whole (check_target_module_exists).
            if (config.ExcludeModules?.Matches(path) == true || ModuleMatch.InSavedModule(saved, path)) { excluded++; continue; }
            if (!targets.IsList || targets.Names!.Contains(path) || InLayers(config, path)) matched.Add(path);
        }
        if (matched.Count > 0) return (matched, null);
        var why = excluded > 0 ? $"every module it matches is excluded by exclude_modules ({config.ExcludeModules?.ToString() ?? "none"}) or modules_to_save ([{string.Join(", ", saved)}])"
            : config.LayersToTransform is not null && targets.IsList ? $"nothing in layers_to_transform [{string.Join(", ", config.LayersToTransform)}] matches"
            : "no module matches";
        return ([], $"target_modules {targets} was not found in {modelName} ({why}). Its projections are: {Listing(projections)}. " +
            "Name some of them (a suffix such as q_proj, a full-path regular expression, or all-linear).");
    }

    /// <summary>PEFT's layer index: the number after the layers_pattern name (or after any name) in the path.</summary>
    public static bool InLayers(LoraConfig config, string path)
    {
        if (config.LayersToTransform is not { Count: > 0 } layers) return true;
        Match? m = null;
        if (config.LayersPattern is not { Count: > 0 } patterns)
            m = Regex.Match(path, @"^.*\.[^.]*\.(\d+)\.", RegexOptions.None, TimeSpan.FromSeconds(1));
        else
            foreach (var p in patterns)
                if ((m = Regex.Match(path, $@"^.*\.{p}\.(\d+)\.", RegexOptions.None, TimeSpan.FromSeconds(1))).Success) break;
        return m is { Success: true } && int.TryParse(m.Groups[1].Value, out var index) && layers.Contains(index);
    }

    /// <summary>The first dozen paths and a count of the rest.</summary>
    public static string Listing(IReadOnlyList<string> paths)
    {
        const int shown = 12;
        var list = string.Join(", ", paths.Take(shown));
        return paths.Count > shown ? $"{list} ... and {paths.Count - shown} more" : list;
    }
}
