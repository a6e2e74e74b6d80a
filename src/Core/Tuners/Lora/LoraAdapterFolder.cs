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
/// </summary>
public static class LoraAdapterFolder
{
    public const string KeyPrefix = "base_model.model.";

    public static string KeyA(string modulePath) => KeyPrefix + modulePath + ".lora_A.weight";
    public static string KeyB(string modulePath) => KeyPrefix + modulePath + ".lora_B.weight";

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
    /// Every tensor is checked against the model (present, floating-point, the right shape, no strays); on any error the model is left without the adapter.</summary>
    public static LoraConfig Load(LoraModel model, string folder, string name)
    {
        var config = ReadConfig(folder);
        var configPath = Path.Combine(folder, LoraConfig.FileName);
        // Loading the LoRA pairs without the token rows would give another model's outputs, silently.
        if (config.TrainableTokenIndices is not null || config.TrainableTokenIndicesByModule is not null)
            throw new InvalidAdapterException(
                $"'{configPath}': trainable_token_indices is set, and LoRA combined with trainable tokens cannot be loaded yet. Use an adapter without it.", configPath);
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
            // Every tensor must be one the config accounts for: anything else (pairs for other modules, saved modules,
            // token rows) would be part of the adapter that is silently not applied.
            var stray = weights.Tensors.Select(t => t.Name).Where(n => !expected.Contains(n)).ToList();
            if (stray.Count > 0)
                throw new InvalidAdapterException(
                    $"'{weights.Path}' has tensors the config does not account for on this model: {string.Join(", ", stray.Take(5))}" +
                    (stray.Count > 5 ? $" and {stray.Count - 5} more" : "") + ". The adapter belongs to another model, or its adapter_config.json was edited.", weights.Path);
        }
        catch
        {
            model.DeleteAdapter(name);
            throw;
        }
        return config;
    }

    private static void LoadInto(SafetensorsFile weights, string path, string part, Tensor target, HashSet<string> expected)
    {
        var key = KeyPrefix + path + "." + part + ".weight";
        // PEFT strips the adapter name on save; a state dict saved by hand may still have it (".lora_A.default.weight").
        var info = weights.Contains(key) ? weights.Info(key)
            : weights.Tensors.FirstOrDefault(t => t.Name.StartsWith(KeyPrefix + path + "." + part + ".", StringComparison.Ordinal)
                && t.Name.EndsWith(".weight", StringComparison.Ordinal) && t.Name.Count(c => c == '.') == key.Count(c => c == '.') + 1)
            ?? throw new InvalidAdapterException(
                $"'{weights.Path}' has no tensor '{key}' for the targeted module {path}. Was the adapter trained for a model of another architecture, or with other target_modules?", weights.Path);
        expected.Add(info.Name);
        AdapterFolder.CheckFloat(weights, info);
        if (!info.Shape.SequenceEqual(target.shape))
            throw new InvalidAdapterException(
                $"'{weights.Path}': tensor '{info.Name}' has shape [{string.Join(", ", info.Shape)}], but r (or rank_pattern) and {path}'s size need " +
                $"[{string.Join(", ", target.shape)}]. The adapter belongs to another model, or its config does not match its weights.", weights.Path);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        target.copy_(weights.Load(info.Name).to(ScalarType.Float32));
    }
}
