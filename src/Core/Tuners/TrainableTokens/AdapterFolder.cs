using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tuners;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tuners.TrainableTokens;

/// <summary>
/// Reads and writes adapters in PEFT's format: adapter_config.json and adapter_model.safetensors with one float32
/// tensor per targeted layer named <c>base_model.model.{module path}.trainable_tokens_delta</c>, and for a tied LM
/// head the embedding's rows once more under lm_head, as PEFT 0.20+ writes them. Both forms load.
/// </summary>
public static class AdapterFolder
{
    public const string WeightsFileName = "adapter_model.safetensors";
    public const string PickleFileName = "adapter_model.bin";
    public const string KeyPrefix = "base_model.model.";
    public const string KeySuffix = ".trainable_tokens_delta";

    /// <summary>The tensor name PEFT gives a layer's rows.</summary>
    public static string KeyFor(string modulePath) => KeyPrefix + modulePath + KeySuffix;

    /// <summary>Saves adapter <paramref name="name"/> into <paramref name="folder"/>, atomically; an existing folder is replaced only with <paramref name="overwrite"/>.
    /// Only PEFT's two files (and what <paramref name="alsoWrite"/> adds) are written: no marker unless <paramref name="writer"/> is given.</summary>
    public static void Save(TrainableTokensModel model, string name, string folder, bool overwrite,
        Action<string>? alsoWrite = null, string? writer = null)
    {
        if (!model.Configs.TryGetValue(name, out var config))
            throw new ArgumentException($"There is no adapter '{name}'.", nameof(name));
        AtomicFolder.Write(folder, temp =>
        {
            alsoWrite?.Invoke(temp);
            File.WriteAllText(Path.Combine(temp, TrainableTokensAdapterConfig.FileName), config.AsSaved().ToJson(), new UTF8Encoding(false));
            using var scope = NewDisposeScope();
            var tensors = model.Layers.Values
                .Where(l => l.Adapters.ContainsKey(name))
                .Select(l => new KeyValuePair<string, Tensor>(KeyFor(l.Path), l.Adapters[name].Values.detach().to(ScalarType.Float32).cpu().contiguous()))
                .ToList();
            // PEFT 0.20+ saves a tied head's rows (the embedding's) a second time under lm_head and warns when that key is missing.
            if (model.TargetsOf(config) is { TiedCopyKey: { } copyKey } targets)
                tensors.Add(new(copyKey, tensors.First(t => t.Key == KeyFor(targets.EmbeddingPath)).Value));
            SafetensorsWriter.Write(Path.Combine(temp, WeightsFileName), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        }, overwrite, writer);
    }

    /// <summary>Reads a folder's adapter_config.json; pickle-only folders and missing files get errors that say what to do.</summary>
    public static TrainableTokensAdapterConfig ReadConfig(string folder)
    {
        // A LoRA adapter where only Trainable Tokens ones work gets an error naming peft_type, not a list of missing fields.
        var (json, configPath) = ReadConfigText(folder, TrainableTokensAdapterConfig.MaxFileBytes);
        if (PeftAdapter.DeclaresLora(json))
            throw PeftAdapter.OnlyTrainableTokens(folder, "this command",
                "Give a Trainable Tokens adapter (token_indices); Merge-TokenAdapter, Invoke-TokenModel, Measure-TokenModel, Invoke-TokenGeneration and Test-TokenAdapter also take LoRA adapters.");
        return TrainableTokensAdapterConfig.FromJson(json, configPath);
    }

    /// <summary>The text of a folder's adapter_config.json (any tuner's), read bounded; a missing folder or file, or one
    /// that cannot be read, is an <see cref="InvalidAdapterException"/> saying what to do.</summary>
    internal static (string Json, string Path) ReadConfigText(string folder, long maxBytes)
    {
        if (!Directory.Exists(folder))
            throw new InvalidAdapterException($"Adapter folder '{folder}' does not exist.", folder);
        var configPath = Path.Combine(folder, TrainableTokensAdapterConfig.FileName);
        if (FileKind.Of(configPath) == FileKindValue.Missing)
            throw new InvalidAdapterException($"'{folder}' has no {TrainableTokensAdapterConfig.FileName}: point at a folder written by PEFT's save_pretrained or by this module.", configPath);
        try
        {
            return (UserFile.ReadAllText(configPath, maxBytes, "adapter config", message => new InvalidAdapterException(message, configPath)), configPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidAdapterException($"The adapter config '{configPath}' cannot be read: {e.Message} Check the file and its permissions.", configPath, e);
        }
    }

    /// <summary>Opens adapter_model.safetensors; refuses a pickle file (adapter_model.bin) rather than loading it.</summary>
    public static SafetensorsFile OpenWeights(string folder)
    {
        var weights = Path.Combine(folder, WeightsFileName);
        if (!File.Exists(weights))
        {
            if (File.Exists(Path.Combine(folder, PickleFileName)))
                throw new InvalidAdapterException(
                    $"'{folder}' holds {PickleFileName}, a pickle file, which is never loaded here because unpickling can run arbitrary code. " +
                    "Re-save the adapter in Python with model.save_pretrained(folder, safe_serialization=True) to get adapter_model.safetensors.", Path.Combine(folder, PickleFileName));
            throw new InvalidAdapterException($"'{folder}' has no {WeightsFileName}.", weights);
        }
        return SafetensorsFile.Open(weights);
    }

    /// <summary>The tensor in <paramref name="file"/> holding the rows for <paramref name="modulePath"/>: PEFT's key, or the same key
    /// with the adapter name appended (".default"), as older or multi-adapter saves write it.</summary>
    public static SafetensorsTensorInfo? FindRows(SafetensorsFile file, string modulePath)
    {
        // PEFT keys follow the module names of the transformers that trained the adapter: Gemma 3's embedding was
        // language_model.model.embed_tokens before transformers 4.52 and is model.language_model.embed_tokens since.
        foreach (var path in ModelArchitectures.OlderModulePaths(modulePath).Prepend(modulePath))
        {
            var key = KeyFor(path);
            if (file.Contains(key)) return file.Info(key);
            var named = file.Tensors.FirstOrDefault(t => t.Name.StartsWith(key + ".", StringComparison.Ordinal) && t.Name.IndexOf('.', key.Length + 1) < 0);
            if (named is not null) return named;
        }
        return null;
    }

    /// <summary>The module path of a trainable_tokens_delta key, or null for other keys.</summary>
    public static string? ModulePathOf(string key)
    {
        var name = key.StartsWith(KeyPrefix, StringComparison.Ordinal) ? key[KeyPrefix.Length..] : key;
        int at = name.LastIndexOf(KeySuffix, StringComparison.Ordinal);
        if (at < 0) return null;
        var rest = name[(at + KeySuffix.Length)..];
        if (rest.Length > 0 && (rest[0] != '.' || rest.IndexOf('.', 1) >= 0)) return null;
        return name[..at];
    }

    /// <summary>Loads each of <paramref name="folders"/> into <paramref name="model"/> as adapter0, adapter1, ... and makes them
    /// all active together (their token ids must not overlap); returns the names.</summary>
    public static string[] LoadAll(TrainableTokensModel model, IReadOnlyList<string> folders)
    {
        var names = folders.Select((_, i) => $"adapter{i}").ToArray();
        for (var i = 0; i < folders.Count; i++) Load(model, folders[i], names[i]);
        if (names.Length > 0) model.SetActiveAdapters(names);
        return names;
    }

    /// <summary>Loads the adapter in <paramref name="folder"/> into <paramref name="model"/> as <paramref name="name"/> and activates it.
    /// Shapes and token ids are checked against the model; on any error the model is left without the adapter.</summary>
    public static TrainableTokensAdapterConfig Load(TrainableTokensModel model, string folder, string name)
    {
        var config = ReadConfig(folder);
        using var weights = OpenWeights(folder);
        model.AddAdapter(name, config);
        try
        {
            var config2 = model.Configs[name];
            var expectedKeys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var layer in model.Layers.Values.Where(l => l.Adapters.ContainsKey(name)))
            {
                var info = FindRows(weights, layer.Path)
                    ?? throw new InvalidAdapterException(
                        $"'{weights.Path}' has no tensor '{KeyFor(layer.Path)}' for the targeted module {layer.Path}. It holds: " +
                        $"{string.Join(", ", weights.Tensors.Select(t => t.Name))}. Was the adapter trained for a model of another architecture?", weights.Path);
                expectedKeys.Add(info.Name);
                CheckFloat(weights, info);
                var rows = layer.Adapters[name].Values;
                if (!info.Shape.SequenceEqual(rows.shape))
                    throw new InvalidAdapterException(
                        $"'{weights.Path}': tensor '{info.Name}' has shape [{string.Join(", ", info.Shape)}], but the adapter's {config.TokenIndices.Count} token indices " +
                        $"and the model's hidden size need [{string.Join(", ", rows.shape)}]. The adapter belongs to another model.", weights.Path);
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                rows.copy_(weights.Load(info.Name).to(ScalarType.Float32));
            }
            CheckTiedHeadRows(model, weights, name, expectedKeys);
            var stray = weights.Tensors.Where(t => ModulePathOf(t.Name) is not null && !expectedKeys.Contains(t.Name)).Select(t => t.Name).ToList();
            if (stray.Count > 0)
                throw new InvalidAdapterException(
                    $"'{weights.Path}' has rows for modules this model does not target with this adapter: {string.Join(", ", stray)} " +
                    $"(target_modules is {config2.TargetModules}; a tied LM head's entry must repeat the embedding's rows). Remove them, or name the modules in target_modules.", weights.Path);
        }
        catch
        {
            model.DeleteAdapter(name);
            throw;
        }
        return config;
    }

    /// <summary>Trained rows are floats; integer or boolean values cast to floats would be a different adapter, silently.</summary>
    internal static void CheckFloat(SafetensorsFile weights, SafetensorsTensorInfo info)
    {
        if (info.DType is SafetensorsDType.F32 or SafetensorsDType.BF16 or SafetensorsDType.F16 or SafetensorsDType.F64) return;
        throw new InvalidAdapterException(
            $"'{weights.Path}': tensor '{info.Name}' is stored as {info.DType.HeaderName()}, but trained rows are floating-point values. " +
            "Save the adapter with F32, BF16 or F16 rows (PEFT's save_pretrained does).", weights.Path);
    }

    /// <summary>
    /// PEFT 0.20+ also saves a tied LM head's rows (the same tensor as the embedding's) under lm_head. Accept that
    /// entry when it equals the embedding's rows; different values would be ambiguous, so they are refused.
    /// </summary>
    private static void CheckTiedHeadRows(TrainableTokensModel model, SafetensorsFile weights, string name, HashSet<string> expectedKeys)
    {
        var targets = model.TargetsOf(model.Configs[name]);
        if (!targets.HeadFollowsEmbedding || FindRows(weights, targets.HeadPath) is not { } head) return;
        var embedding = FindRows(weights, targets.EmbeddingPath)!;
        CheckSameRows(weights, head, embedding, "this model ties its LM head to the embedding");
        expectedKeys.Add(head.Name);
    }

    /// <summary>A tied head's copy must hold the embedding's rows exactly; the error names both keys.</summary>
    internal static void CheckSameRows(SafetensorsFile weights, SafetensorsTensorInfo head, SafetensorsTensorInfo embedding, string why)
    {
        if (!SameRows(weights, head, embedding))
            throw new InvalidAdapterException(
                $"'{weights.Path}': '{head.Name}' differs from '{embedding.Name}', but {why}, so both must hold the same rows. " +
                "Re-save the adapter from the model it was trained on, or remove the lm_head entry.", weights.Path);
    }

    /// <summary>Whether two entries hold the same rows (compared as float32); both must be floating-point.</summary>
    internal static bool SameRows(SafetensorsFile weights, SafetensorsTensorInfo a, SafetensorsTensorInfo b)
    {
        CheckFloat(weights, a);
        CheckFloat(weights, b);
        if (!a.Shape.SequenceEqual(b.Shape)) return false;
        using var scope = NewDisposeScope();
        return weights.Load(a.Name).to(ScalarType.Float32).eq(weights.Load(b.Name).to(ScalarType.Float32)).all().item<bool>();
    }
}
