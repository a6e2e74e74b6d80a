using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Merging;

/// <summary>
/// Plans the merge of one LoRA adapter in PEFT's format from its files and the checkpoint's headers alone: every
/// tensor in adapter_model.safetensors must be accounted for, as one of
/// <list type="bullet">
/// <item><c>base_model.model.{path}.lora_A.weight</c> / <c>.lora_B.weight</c>: a pair for the projection {path} (W += scaling * B @ A);</item>
/// <item><c>base_model.model.{embedding or head}.token_adapter.trainable_tokens_delta</c>: trainable_token_indices' rows;</item>
/// <item><c>base_model.model.{module}.{parameter}</c>: a module saved whole (modules_to_save, or a resized embedding PEFT saved).</item>
/// </list>
/// </summary>
internal static class LoraMergePlan
{
    private const string Prefix = LoraAdapterFolder.KeyPrefix;
    private const string TokenSuffix = ".token_adapter.trainable_tokens_delta";

    public static void Add(AdapterMerge.Collector collect, string name, string folder)
    {
        var (config, modulesToSave, configPath) = ReadConfig(folder);
        using var weights = AdapterFolder.OpenWeights(folder);
        var used = new HashSet<string>(StringComparer.Ordinal);
        var model = collect.Model;
        var planned = 0;

        // LoRA pairs.
        var targets = config.TargetModules ?? LoraTargets.List(LoraModel.DefaultTargets);
        foreach (var a in weights.Tensors)
        {
            if (PairPath(a.Name, ".lora_A.") is not { } path) continue;
            var bName = a.Name.Replace(".lora_A.", ".lora_B.", StringComparison.Ordinal);
            if (!weights.Contains(bName))
                throw new InvalidAdapterException($"'{weights.Path}' has '{a.Name}' but no '{bName}': a LoRA pair needs both. Re-save the adapter.", weights.Path);
            var b = weights.Info(bName);
            used.Add(a.Name);
            used.Add(b.Name);
            if (path == collect.Embedding || path == collect.Head)
                throw new InvalidAdapterException(
                    $"'{weights.Path}': '{a.Name}' is LoRA on {path}, and merging LoRA on the embedding or the LM head is not supported. Use trainable_token_indices for new tokens.", weights.Path);
            if (!targets.Matches(path) || config.ExcludeModules?.Matches(path) == true)
                throw new InvalidAdapterException(
                    $"'{weights.Path}' has a LoRA pair for {path}, which target_modules {targets}{(config.ExcludeModules is null ? "" : $" (less exclude_modules {config.ExcludeModules})")} in '{configPath}' does not name. " +
                    "The adapter_config.json does not belong to these weights.", weights.Path);
            var stored = ModelLoader.StoredName(collect.Checkpoint, path + ".weight", model.ModelType)
                ?? throw new InvalidAdapterException(
                    $"'{weights.Path}' has a LoRA pair for {path}, but the model '{collect.Request.ModelFolder}' has no '{path}.weight': the adapter was trained for another architecture. Give the model it was trained for.", weights.Path);
            var target = collect.Checkpoint.Info(stored);
            AdapterFolder.CheckFloat(weights, a);
            AdapterFolder.CheckFloat(weights, b);
            var rank = config.RankFor(path);
            if (target.Shape.Length != 2 || a.Shape.Length != 2 || b.Shape.Length != 2
                || a.Shape[0] != rank || b.Shape[1] != rank || a.Shape[1] != target.Shape[1] || b.Shape[0] != target.Shape[0])
                throw new InvalidAdapterException(
                    $"'{weights.Path}': '{a.Name}' is [{string.Join(", ", a.Shape)}] and '{b.Name}' is [{string.Join(", ", b.Shape)}], but rank {rank} (r or rank_pattern) on " +
                    $"'{stored}' [{string.Join(", ", target.Shape)}] needs [{rank}, {(target.Shape.Length == 2 ? target.Shape[1] : 0)}] and [{(target.Shape.Length == 2 ? target.Shape[0] : 0)}, {rank}]. " +
                    "The adapter belongs to another model, or its config does not match its weights.", weights.Path);
            if (collect.Request.SafeMerge) CheckFinite(weights, folder, a, b);
            var step = new LoraStep(weights.Path, a.Name, b.Name, rank, config.Scaling(rank, config.AlphaFor(path)));
            collect.AddStep(name, folder, path, stored, step);
            planned++;
        }

        // Trainable tokens beside LoRA (PEFT's token_adapter).
        foreach (var (module, ids) in TokenTargets(collect, config, configPath))
        {
            var rows = FindTokenRows(weights, module);
            if (rows is null)
            {
                // A tied head follows the embedding with the same rows: PEFT saves no key for it.
                if (module == collect.Head && model.TieWordEmbeddings) continue;
                throw new InvalidAdapterException(
                    $"'{weights.Path}' has no tensor '{Prefix + module + TokenSuffix}' for trainable_token_indices on {module} in '{configPath}'. " +
                    $"It holds: {Few(weights.Tensors.Select(t => t.Name).ToList())}.", weights.Path);
            }
            used.Add(rows.Name);
            if (module == collect.Head && model.TieWordEmbeddings && FindTokenRows(weights, collect.Embedding) is { } embeddingRows
                && embeddingRows.Shape.SequenceEqual(rows.Shape) && AdapterFolder.SameRows(weights, rows, embeddingRows))
                continue; // the same rows written once, through the embedding the head is tied to
            collect.AddRows(name, folder, weights, module, rows, ids);
            planned++;
        }

        // Modules saved whole.
        foreach (var t in weights.Tensors.Where(t => !used.Contains(t.Name)).ToList())
        {
            if (!t.Name.StartsWith(Prefix, StringComparison.Ordinal) || t.Name.EndsWith(TokenSuffix, StringComparison.Ordinal)) continue;
            var tensorPath = t.Name[Prefix.Length..];
            var stored = ModelLoader.StoredName(collect.Checkpoint, tensorPath, model.ModelType);
            var module = tensorPath.Contains('.') ? tensorPath[..tensorPath.LastIndexOf('.')] : tensorPath;
            var listed = modulesToSave?.Any(m => module == m || module.EndsWith("." + m, StringComparison.Ordinal)) == true;
            var embeddingLayer = module == collect.Embedding || module == collect.Head;
            if (!(listed || embeddingLayer)) continue; // reported below as not accounted for
            if (module == collect.Head && model.TieWordEmbeddings)
                throw new InvalidAdapterException(
                    $"'{weights.Path}' saves {collect.Head} whole ('{t.Name}'), but this model ties its LM head to the embedding, so merging it would change the embedding too. " +
                    "Save the embedding instead (modules_to_save: [embed_tokens]), or untie the model.", weights.Path);
            if (stored is null)
                throw new InvalidAdapterException(
                    $"'{weights.Path}' saves '{t.Name}' (modules_to_save), but the model '{collect.Request.ModelFolder}' has no tensor '{tensorPath}': the adapter was trained for another architecture.", weights.Path);
            var target = collect.Checkpoint.Info(stored);
            AdapterFolder.CheckFloat(weights, t);
            if (!t.Shape.SequenceEqual(target.Shape))
                throw new InvalidAdapterException(
                    $"'{weights.Path}': the saved module tensor '{t.Name}' is [{string.Join(", ", t.Shape)}], but the model's '{stored}' is [{string.Join(", ", target.Shape)}]. " +
                    "The adapter belongs to another model (or one with another vocabulary size).", weights.Path);
            if (collect.Request.SafeMerge) CheckFinite(weights, folder, t);
            used.Add(t.Name);
            collect.AddStep(name, folder, module, stored, new ReplaceStep(weights.Path, t.Name));
            if (collect.TiedHeadCopy(module, stored) is { } copy)
                collect.AddStep(name, folder, collect.Head, copy.Name, new ReplaceStep(weights.Path, t.Name));
            planned++;
        }

        var stray = weights.Tensors.Select(t => t.Name).Where(n => !used.Contains(n)).ToList();
        if (stray.Count > 0)
            throw new InvalidAdapterException(
                $"'{weights.Path}' has tensors that '{configPath}' does not account for on this model: {Few(stray)}. " +
                "Each must be a LoRA pair of a targeted projection, trainable_token_indices rows, or a module in modules_to_save; the adapter belongs to another model, or its config was edited.", weights.Path);
        if (planned == 0)
            throw new InvalidAdapterException($"'{weights.Path}' holds nothing to merge (no LoRA pair, token rows or saved module). Point at a trained LoRA adapter.", weights.Path);
    }

    /// <summary>The adapter's LoRA config, its modules_to_save and the config file's path.</summary>
    internal static (LoraConfig Config, IReadOnlyList<string>? ModulesToSave, string Path) ReadConfig(string folder)
    {
        var (json, path) = AdapterFolder.ReadConfigText(folder, LoraConfig.MaxFileBytes);
        var config = LoraConfig.FromJson(json, path);
        return (config, config.ModulesToSave, path);
    }

    /// <summary>The module path of a LoRA pair's key (PEFT's, or with the adapter name: ".lora_A.default.weight"); null for other keys.</summary>
    private static string? PairPath(string key, string part)
    {
        if (!key.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        var at = key.LastIndexOf(part, StringComparison.Ordinal);
        if (at < Prefix.Length) return null;
        var tail = key[(at + part.Length)..];
        var named = tail.Length > ".weight".Length && tail.EndsWith(".weight", StringComparison.Ordinal) && tail.IndexOf('.') == tail.Length - ".weight".Length;
        if (tail != "weight" && !named) return null;
        return key[Prefix.Length..at];
    }

    /// <summary>Which embedding module gets which rows: a list is the input embedding's (a tied head follows it); a map names modules by suffix.</summary>
    private static List<(string Module, IReadOnlyList<long> Ids)> TokenTargets(AdapterMerge.Collector collect, LoraConfig config, string configPath)
    {
        var result = new List<(string, IReadOnlyList<long>)>();
        if (config.TrainableTokenIndices is { } list)
        {
            result.Add((collect.Embedding, list));
            return result;
        }
        foreach (var (key, ids) in config.TrainableTokenIndicesByModule ?? Array.Empty<KeyValuePair<string, IReadOnlyList<long>>>())
        {
            string? module = Names(collect.Embedding, key) ? collect.Embedding : Names(collect.Head, key) ? collect.Head : null;
            if (module is null)
                throw new InvalidAdapterException(
                    $"'{configPath}': trainable_token_indices names '{key}', which is neither this {collect.Model.ModelType} model's embedding ({collect.Embedding}) nor its LM head ({collect.Head}). " +
                    "Name one of them.", configPath);
            result.Add((module, ids));
        }
        return result;

        static bool Names(string path, string key) => path == key || path.EndsWith("." + key, StringComparison.Ordinal);
    }

    /// <summary>The token_adapter rows of <paramref name="module"/>: PEFT's key, an older module path's, or either with the adapter name appended.</summary>
    private static SafetensorsTensorInfo? FindTokenRows(SafetensorsFile file, string module)
    {
        foreach (var path in ModelArchitectures.OlderModulePaths(module).Prepend(module))
        {
            var key = Prefix + path + TokenSuffix;
            if (file.Contains(key)) return file.Info(key);
            var named = file.Tensors.FirstOrDefault(t => t.Name.StartsWith(key + ".", StringComparison.Ordinal) && t.Name.IndexOf('.', key.Length + 1) < 0);
            if (named is not null) return named;
        }
        return null;
    }

    private static void CheckFinite(SafetensorsFile weights, string folder, params SafetensorsTensorInfo[] tensors)
    {
        using var scope = NewDisposeScope();
        foreach (var t in tensors)
            if (!weights.Load(t.Name).isfinite().all().item<bool>())
                throw new InvalidAdapterException($"Adapter '{folder}' has NaN or infinite values in '{t.Name}'; nothing was written. Retrain the adapter.", weights.Path);
    }

    private static string Few(IReadOnlyList<string> items) =>
        string.Join(", ", items.Take(5)) + (items.Count > 5 ? $" and {items.Count - 5} more" : "");
}
