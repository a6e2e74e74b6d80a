using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tuners.Lora;
using Section = TrainableTokens.Core.Configuration.LoraConfig;
using TunerConfig = TrainableTokens.Core.Tuners.Lora.LoraConfig;

namespace TrainableTokens.Core.Preflight;

/// <summary>
/// The lora section against the model, from config.json alone (no weight is read): which projections target_modules
/// selects, with LoraModel's rules (a target that matches nothing lists what exists), ranks against the layers' sizes,
/// and trainable_token_indices against the vocabulary, the embedding and the head with PEFT's rules for tied weights.
/// Training resolves the targets again on the loaded model (LoraModel.ResolveTargets); a test keeps the two in step.
/// </summary>
internal static class LoraModelCheck
{
    public static void Check(Section section, ModelConfig model, HashSet<string> invalid, ConfigValidator lora)
    {
        if (!ModelArchitectures.IsSupported(model.ModelType)) return;
        var config = section.ToTunerConfig();
        if (!invalid.Any(f => f.StartsWith("lora.target_modules", StringComparison.Ordinal) || f.StartsWith("lora.exclude_modules", StringComparison.Ordinal)
                || f.StartsWith("lora.layers_", StringComparison.Ordinal) || f.StartsWith("lora.rank_pattern", StringComparison.Ordinal)))
            CheckTargets(config, model, lora);
        if (!invalid.Any(f => f.StartsWith("lora.trainable_token_indices", StringComparison.Ordinal)))
            CheckTokens(config, model, lora);
        if (!invalid.Any(f => f.StartsWith("lora.modules_to_save", StringComparison.Ordinal)))
            CheckSaved(config, model, lora);
    }

    /// <summary>Each modules_to_save name must select the embedding, the LM head or a projection (PEFT's suffix rule),
    /// the modules this module can copy whole.</summary>
    private static void CheckSaved(TunerConfig config, ModelConfig model, ConfigValidator lora)
    {
        if (config.ModulesToSave is not { Count: > 0 } saved) return;
        var spec = ModelArchitectures.Spec(model.ModelType);
        var modules = new[] { spec.Embedding, spec.LmHead }.Concat(Projections(model).Select(p => p.Path)).ToList();
        var unmatched = saved.Where(name => !modules.Any(m => m.EndsWith(name, StringComparison.Ordinal))).ToList();
        if (unmatched.Count > 0)
            lora.Error("modules_to_save", $"modules_to_save {string.Join(", ", unmatched.Select(n => $"'{n}'"))} match{(unmatched.Count == 1 ? "es" : "")} no module this {model.ModelType} model can save whole. " +
                $"Name its input embedding ({spec.Embedding}), its LM head ({spec.LmHead}) or projections such as {LoraTargetResolver.Listing(modules.Skip(2).Take(3).ToList())}.");
    }

    /// <summary>Every projection of the model in model order (as CausalLanguageModel.LinearLayers lists them), with its sizes.</summary>
    internal static IReadOnlyList<(string Path, long In, long Out)> Projections(ModelConfig model)
    {
        var spec = ModelArchitectures.Spec(model.ModelType);
        var result = new List<(string, long, long)>();
        for (var layer = 0; layer < model.NumLayers; layer++)
            foreach (var p in spec.Attention.Projections(model).Concat(spec.Mlp.Projections(model)))
                result.Add((spec.LayerPath(layer) + "." + p.Name, p.In, p.Out));
        return result;
    }

    /// <summary>The projections <paramref name="config"/> targets, or the problem in words (what LoraModel.ResolveTargets refuses).</summary>
    internal static (IReadOnlyList<string> Targets, string? Problem) Resolve(TunerConfig config, ModelConfig model)
    {
        var spec = ModelArchitectures.Spec(model.ModelType);
        var (matched, problem) = LoraTargetResolver.Resolve(config, Projections(model).Select(p => p.Path).ToList(), spec.Embedding, spec.LmHead, $"this {model.ModelType} model");
        if (problem is not null) return ([], problem);
        if (spec.Conv1D)
            return ([], $"target {matched[0]} is a Conv1D layer ({model.ModelType}), and LoRA on Conv1D is not supported yet. Use a model with Linear projections.");
        return (matched, null);
    }

    private static void CheckTargets(TunerConfig config, ModelConfig model, ConfigValidator lora)
    {
        var (targets, problem) = Resolve(config, model);
        if (problem is not null)
        {
            lora.Error("target_modules", problem);
            return;
        }
        var sizes = Projections(model).ToDictionary(p => p.Path, p => Math.Min(p.In, p.Out), StringComparer.Ordinal);
        var tooLarge = targets.Where(t => config.RankFor(t) > sizes[t]).ToList();
        if (tooLarge.Count > 0)
            lora.Warning(config.RankPattern.Count > 0 ? "rank_pattern" : "r",
                $"The rank ({config.RankFor(tooLarge[0])} for {tooLarge[0]}{(tooLarge.Count > 1 ? $" and {tooLarge.Count - 1} more" : "")}) is above the layer's smaller size ({sizes[tooLarge[0]]}), " +
                "so the extra rank adds parameters but no expressiveness. Lower r (or the rank_pattern entry).");
        foreach (var (field, keys) in new[] { ("rank_pattern", config.RankPattern.Select(k => k.Key)), ("alpha_pattern", config.AlphaPattern.Select(k => k.Key)) })
        {
            var unused = keys.Where(k => !targets.Any(t => t == k || LoraTargetsFullMatch($@"(.*\.)?(?:{k})", t))).ToList();
            if (unused.Count > 0)
                lora.Warning(field, $"{field} key{(unused.Count == 1 ? "" : "s")} {string.Join(", ", unused.Take(5).Select(k => $"'{k}'"))} match{(unused.Count == 1 ? "es" : "")} none of the targeted modules, so {(unused.Count == 1 ? "it does" : "they do")} nothing. Targeted: {LoraTargetResolver.Listing(targets)}.");
        }
    }

    private static void CheckTokens(TunerConfig config, ModelConfig model, ConfigValidator lora)
    {
        const string key = "trainable_token_indices";
        var spec = ModelArchitectures.Spec(model.ModelType);
        var embedding = spec.Embedding;
        var head = spec.LmHead;
        var modules = config.TrainableTokenIndices is { } list ? [new KeyValuePair<string, IReadOnlyList<long>>(embedding, list)]
            : config.TrainableTokenIndicesByModule ?? [];
        if (modules.Count == 0)
        {
            if (config.EnsureWeightTying && !model.TieWordEmbeddings)
                lora.Warning("ensure_weight_tying", "ensure_weight_tying is set, but this model does not tie its embeddings (tie_word_embeddings: false), so it does nothing. Remove it.");
            return;
        }
        IReadOnlyList<long>? embeddingIds = null, headIds = null;
        foreach (var (module, ids) in modules)
        {
            var at = config.TrainableTokenIndices is not null ? key : $"{key}.{module}";
            var isEmbedding = Names(module, embedding);
            var isHead = Names(module, head);
            if (!isEmbedding && !isHead)
            {
                lora.Error(key, $"{at} names '{module}', which is not this {model.ModelType} model's input embedding ('{embedding}') or LM head ('{head}'). " +
                    $"Use a list for the embedding's rows, or map {Last(embedding)} (and {head}) to token ids.");
                continue;
            }
            if (isEmbedding) embeddingIds = ids;
            else headIds = ids;
            var outside = ids.Where(i => i >= model.VocabSize).ToList();
            if (outside.Count > 0)
                lora.Error(key, $"{at}: token id{(outside.Count == 1 ? "" : "s")} {string.Join(", ", outside.Take(5))}{(outside.Count > 5 ? $" and {outside.Count - 5} more" : "")} " +
                    $"{(outside.Count == 1 ? "is" : "are")} not in the model's vocabulary (ids 0 to {model.VocabSize - 1}). Use ids from the model's tokenizer, or add the tokens and resize the embedding first.");
        }
        if (!model.TieWordEmbeddings && config.EnsureWeightTying)
            lora.Warning("ensure_weight_tying", "ensure_weight_tying is set, but this model does not tie its embeddings (tie_word_embeddings: false), so the embedding's and the head's rows stay separate. Remove it.");
        if (model.TieWordEmbeddings && config.EnsureWeightTying && embeddingIds is not null && headIds is not null && !embeddingIds.SequenceEqual(headIds))
            lora.Error(key, $"{key} gives the embedding and the LM head different token ids, but this model ties them and ensure_weight_tying is set (PEFT refuses this too). " +
                "Give both the same ids, or one list for the embedding (the tied head follows it), or remove ensure_weight_tying.");
        if (model.TieWordEmbeddings && embeddingIds is null && headIds is not null)
            lora.Error(key, $"{key} names only the LM head '{head}', which this model ties to '{embedding}': its trained rows would replace the embedding's too. " +
                $"Map {Last(embedding)} instead (the tied head follows it), or give a list.");
        if (config.ModulesToSave is { } saved && saved.Any(m => Names(m, embedding)))
            lora.Error("modules_to_save", $"modules_to_save names the embedding '{embedding}', which trainable_token_indices also trains (PEFT refuses this too). Keep one of them.");
    }

    private static bool Names(string module, string path) => path == module || path.EndsWith("." + module, StringComparison.Ordinal);

    private static string Last(string path) => path[(path.LastIndexOf('.') + 1)..];

    private static bool LoraTargetsFullMatch(string pattern, string text) =>
        Regex.IsMatch(text, $"^(?:{pattern})$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

}
