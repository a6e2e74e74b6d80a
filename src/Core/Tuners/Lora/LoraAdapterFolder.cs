using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tuners.Lora;

/// <summary>
/// Reads and writes LoRA adapters in PEFT's format: adapter_config.json and adapter_model.safetensors with
/// <c>base_model.model.{module path}.lora_A.weight</c> [r, in] and <c>.lora_B.weight</c> [out, r] per targeted layer, float32,
/// without the adapter name (PEFT strips it on save; keys that still carry it, ".lora_A.default.weight", load too).
/// Beside the pairs, as PEFT's get_peft_model_state_dict writes them (peft/utils/save_and_load.py, peft/utils/other.py):
/// trainable token rows under <c>{module path}.token_adapter.trainable_tokens_delta</c> [k, hidden] float32 (none for a
/// tied head that follows the embedding), and modules_to_save copies under <c>{module path}.weight</c> (and <c>.bias</c>)
/// in the copy's dtype.
/// </summary>
public static class LoraAdapterFolder
{
    public const string KeyPrefix = "base_model.model.";
    public const string TokensSuffix = ".token_adapter.trainable_tokens_delta";

    public static string KeyA(string modulePath) => KeyPrefix + modulePath + ".lora_A.weight";
    public static string KeyB(string modulePath) => KeyPrefix + modulePath + ".lora_B.weight";
    /// <summary>The key of a module's trainable token rows in the combined form.</summary>
    public static string KeyTokens(string modulePath) => KeyPrefix + modulePath + TokensSuffix;
    /// <summary>The module path of a combined-form token key (with or without the adapter name after it), or null for other keys.</summary>
    public static string? TokensModulePath(string key)
    {
        if (!key.StartsWith(KeyPrefix, StringComparison.Ordinal)) return null;
        var at = key.LastIndexOf(TokensSuffix, StringComparison.Ordinal);
        if (at < 0) return null;
        var rest = key[(at + TokensSuffix.Length)..];
        if (rest.Length > 0 && (rest[0] != '.' || rest.IndexOf('.', 1) >= 0)) return null;
        return key[KeyPrefix.Length..at];
    }

    /// <summary>The key of a modules_to_save copy's weight (<paramref name="part"/> "weight") or bias.</summary>
    public static string KeySaved(string modulePath, string part = "weight") => KeyPrefix + modulePath + "." + part;

    /// <summary>Saves adapter <paramref name="name"/> into <paramref name="folder"/> atomically; an existing folder is replaced only with <paramref name="overwrite"/>.</summary>
    public static void Save(LoraModel model, string name, string folder, bool overwrite, string? writer = null)
    {
        if (!model.Configs.TryGetValue(name, out var config))
            throw new ArgumentException($"There is no adapter '{name}'.", nameof(name));
        AtomicFolder.Write(folder, temp =>
        {
            File.WriteAllText(Path.Combine(temp, LoraConfig.FileName), config.ToJson(), new UTF8Encoding(false));
            using var scope = NewDisposeScope();
            var tensors = new List<KeyValuePair<string, Tensor>>();
            foreach (var layer in model.Layers.Values.Where(l => l.Adapters.ContainsKey(name)))
            {
                var w = layer.Adapters[name];
                tensors.Add(new(KeyA(layer.Path), w.A.detach().to(ScalarType.Float32).cpu().contiguous()));
                tensors.Add(new(KeyB(layer.Path), w.B.detach().to(ScalarType.Float32).cpu().contiguous()));
            }
            // A tied head that follows the embedding has no layer of its own, so no key: PEFT leaves tied layers out.
            foreach (var layer in model.Tokens.Layers.Values.Where(l => l.Adapters.ContainsKey(name)))
                tensors.Add(new(KeyTokens(layer.Path), layer.Adapters[name].Values.detach().to(ScalarType.Float32).cpu().contiguous()));
            foreach (var module in model.SavedModules.Values.Where(m => m.Copies.ContainsKey(name)))
            {
                var copy = module.Copies[name];
                // PEFT saves a tied head's copy too (a clone of the embedding's, safetensors refusing aliases).
                tensors.Add(new(KeySaved(module.Path), copy.Weight.detach().cpu().contiguous().clone()));
                if (copy.TiedTo is null && copy.Bias is not null) tensors.Add(new(KeySaved(module.Path, "bias"), copy.Bias.detach().cpu().contiguous()));
            }
            SafetensorsWriter.Write(Path.Combine(temp, AdapterFolder.WeightsFileName), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        }, overwrite, writer);
    }

    /// <summary>Reads a folder's adapter_config.json as a LoRA config; missing or unreadable files get errors that say what to do.</summary>
    public static LoraConfig ReadConfig(string folder)
    {
        var (json, configPath) = AdapterFolder.ReadConfigText(folder, LoraConfig.MaxFileBytes);
        return LoraConfig.FromJson(json, configPath);
    }

    /// <summary>Loads the adapter in <paramref name="folder"/> into <paramref name="model"/> as <paramref name="name"/> and activates it.
    /// Every tensor is checked against the model (present, floating-point, the right shape, finite token rows, no strays);
    /// on any error the model is left without the adapter.</summary>
    public static LoraConfig Load(LoraModel model, string folder, string name)
    {
        var config = ReadConfig(folder);
        var configPath = Path.Combine(folder, LoraConfig.FileName);
        using var weights = AdapterFolder.OpenWeights(folder);
        model.AddAdapter(name, config, source: configPath);
        try
        {
            var expected = new HashSet<string>(StringComparer.Ordinal);
            foreach (var layer in model.Layers.Values.Where(l => l.Adapters.ContainsKey(name)))
            {
                var w = layer.Adapters[name];
                LoadInto(weights, layer.Path, "lora_A", w.A, expected);
                LoadInto(weights, layer.Path, "lora_B", w.B, expected);
            }
            foreach (var layer in model.Tokens.Layers.Values.Where(l => l.Adapters.ContainsKey(name)))
                LoadRows(weights, layer.Path, layer.Adapters[name].Values, expected);
            AcceptTiedHeadRows(model, weights, name, expected);
            foreach (var module in model.SavedModules.Values.Where(m => m.Copies.ContainsKey(name)))
                LoadSaved(weights, module, module.Copies[name], expected);
            // Every tensor must be one the config accounts for: anything else (pairs for other modules, saved modules,
            // token rows) would be part of the adapter that is silently not applied.
            var stray = weights.Tensors.Select(t => t.Name).Where(n => !expected.Contains(n)).ToList();
            if (stray.Count > 0)
                throw new InvalidAdapterException(
                    $"'{weights.Path}' has tensors the config does not account for on this model: {TokenIndexCheck.Few(stray)}" +
                    ". The adapter belongs to another model, or its adapter_config.json was edited.", weights.Path);
        }
        catch
        {
            model.DeleteAdapter(name);
            throw;
        }
        return config;
    }

    /// <summary>The entry for <paramref name="key"/>, or the same key with the adapter name before its last part
    /// (".lora_A.default.weight", ".token_adapter.trainable_tokens_delta.default", as a state dict saved by hand has it).</summary>
    public static SafetensorsTensorInfo? Find(SafetensorsFile weights, string key, bool nameAtEnd)
    {
        if (weights.Contains(key)) return weights.Info(key);
        var dots = key.Count(c => c == '.') + 1;
        if (nameAtEnd)
            return weights.Tensors.FirstOrDefault(t => t.Name.StartsWith(key + ".", StringComparison.Ordinal) && t.Name.Count(c => c == '.') == dots);
        var cut = key.LastIndexOf('.');
        var (stem, last) = (key[..cut], key[cut..]);
        return weights.Tensors.FirstOrDefault(t => t.Name.StartsWith(stem + ".", StringComparison.Ordinal) && t.Name.EndsWith(last, StringComparison.Ordinal) && t.Name.Count(c => c == '.') == dots);
    }

    private static void LoadInto(SafetensorsFile weights, string path, string part, Tensor target, HashSet<string> expected)
    {
        var key = KeyPrefix + path + "." + part + ".weight";
        // PEFT strips the adapter name on save; a state dict saved by hand may still have it (".lora_A.default.weight").
        var info = Find(weights, key, nameAtEnd: false)
            ?? throw new InvalidAdapterException(
                $"'{weights.Path}' has no tensor '{key}' for the targeted module {path}. Was the adapter trained for a model of another architecture, or with other target_modules?", weights.Path);
        Copy(weights, info, target, expected, $"r (or rank_pattern) and {path}'s size");
    }

    private static void LoadRows(SafetensorsFile weights, string path, Tensor target, HashSet<string> expected)
    {
        var key = KeyTokens(path);
        var info = Find(weights, key, nameAtEnd: true)
            ?? throw new InvalidAdapterException(
                $"'{weights.Path}' has no tensor '{key}' for the trainable tokens of {path} (trainable_token_indices). Re-save the adapter with PEFT, or fix trainable_token_indices.", weights.Path);
        Copy(weights, info, target, expected, $"the number of trainable_token_indices for {path} and the hidden size");
        if (!TokenIndexCheck.AllFinite(target))
            throw new InvalidAdapterException($"'{weights.Path}': tensor '{info.Name}' holds NaN or infinite values; the adapter is broken. Retrain it.", weights.Path);
    }

    /// <summary>PEFT writes no key for a tied head that follows the embedding; one saved anyway must repeat the embedding's rows.</summary>
    private static void AcceptTiedHeadRows(LoraModel model, SafetensorsFile weights, string name, HashSet<string> expected)
    {
        if (!model.Tokens.Layouts.TryGetValue(name, out var layout) || !layout.HeadFollowsEmbedding) return;
        var headPath = model.Tokens.EmbeddingModules[1];
        var embeddingPath = model.Tokens.EmbeddingModules[0];
        foreach (var key in new[] { KeyTokens(headPath), AdapterFolder.KeyFor(headPath) })
            if (Find(weights, key, nameAtEnd: true) is { } head && Find(weights, KeyTokens(embeddingPath), nameAtEnd: true) is { } embedding)
            {
                AdapterFolder.CheckSameRows(weights, head, embedding, "this model ties its LM head to the embedding");
                expected.Add(head.Name);
            }
    }

    private static void LoadSaved(SafetensorsFile weights, SavedModule module, SavedCopy copy, HashSet<string> expected)
    {
        var key = KeySaved(module.Path);
        var info = Find(weights, key, nameAtEnd: false);
        if (copy.TiedTo is not null)
        {
            // A tied head's copy is the embedding's: optional, and equal to it when present.
            if (info is null) return;
            using var scope = NewDisposeScope();
            AdapterFolder.CheckFloat(weights, info);
            if (!info.Shape.SequenceEqual(copy.Weight.shape) || !weights.Load(info.Name).to(copy.Weight.dtype).eq(copy.Weight.detach().cpu()).all().item<bool>())
                throw new InvalidAdapterException(
                    $"'{weights.Path}': '{info.Name}' differs from the embedding's copy, but ensure_weight_tying ties the LM head to it. Re-save the adapter, or remove the entry.", weights.Path);
            expected.Add(info.Name);
            return;
        }
        if (info is null)
            throw new InvalidAdapterException(
                $"'{weights.Path}' has no tensor '{key}' for {module.Path}, which modules_to_save copies. Re-save the adapter with PEFT, or fix modules_to_save.", weights.Path);
        Copy(weights, info, copy.Weight, expected, $"{module.Path}'s weight");
        if (copy.Bias is not null)
        {
            var biasKey = KeySaved(module.Path, "bias");
            var bias = Find(weights, biasKey, nameAtEnd: false)
                ?? throw new InvalidAdapterException($"'{weights.Path}' has no tensor '{biasKey}' for the bias of {module.Path} (modules_to_save). Re-save the adapter with PEFT.", weights.Path);
            Copy(weights, bias, copy.Bias, expected, $"{module.Path}'s bias");
        }
    }

    private static void Copy(SafetensorsFile weights, SafetensorsTensorInfo info, Tensor target, HashSet<string> expected, string needs)
    {
        expected.Add(info.Name);
        AdapterFolder.CheckFloat(weights, info);
        if (!info.Shape.SequenceEqual(target.shape))
            throw new InvalidAdapterException(
                $"'{weights.Path}': tensor '{info.Name}' has shape [{string.Join(", ", info.Shape)}], but {needs} need " +
                $"[{string.Join(", ", target.shape)}]. The adapter belongs to another model, or its config does not match its weights.", weights.Path);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        target.copy_(weights.Load(info.Name).to(target.dtype));
    }
}
