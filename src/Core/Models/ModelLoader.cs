using System;
using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Runtime;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>
/// Opens a Hugging Face model folder: config.json, then each weight read lazily by name from the (possibly
/// sharded) safetensors checkpoint straight into native memory, checked against the shape the architecture expects.
/// </summary>
public static class ModelLoader
{
    /// <summary>Loads the model in <paramref name="dtype"/> (float32 when null, as Hugging Face does by default) on <paramref name="device"/> (CPU when null).</summary>
    public static CausalLanguageModel Load(string folder, ScalarType? dtype = null, Device? device = null)
    {
        TorchRuntime.EnsureLoaded();
        var config = ModelConfigReader.ReadFolder(folder);
        var target = dtype ?? ScalarType.Float32;
        var dev = device ?? CPU;
        using var checkpoint = Checkpoint.OpenFolder(folder);
        var weights = new Dictionary<string, Tensor>();
        try
        {
            foreach (var expected in ExpectedWeights(config))
            {
                var stored = StoredName(checkpoint, expected.Name)
                    ?? throw new InvalidModelFolderException(
                        $"'{folder}': the checkpoint has no tensor '{expected.Name}', which a {config.ModelType} model with this config.json needs. " +
                        "Check that config.json belongs to these weights.", folder);
                var info = checkpoint.Info(stored);
                if (!info.Shape.SequenceEqual(expected.Shape))
                    throw new InvalidModelFolderException(
                        $"'{info.File}': tensor '{stored}' has shape [{string.Join(", ", info.Shape)}], but config.json implies [{string.Join(", ", expected.Shape)}].", info.File);
                var loaded = checkpoint.Load(stored);
                var converted = loaded.to(target, dev);
                if (!ReferenceEquals(converted, loaded)) loaded.Dispose();
                weights[expected.Name] = converted;
            }
        }
        catch
        {
            foreach (var w in weights.Values) w.Dispose();
            throw;
        }
        return Create(config, weights);
    }

    /// <summary>Builds the architecture for <paramref name="config"/> around weights the caller already holds.</summary>
    public static CausalLanguageModel Create(ModelConfig config, Dictionary<string, Tensor> weights)
    {
        // The model owns its weights for its whole life, whatever dispose scope was active when they were made.
        foreach (var w in weights.Values) w.DetachFromDisposeScope();
        return config.ModelType == "gpt2" ? new Gpt2Model(config, weights) : new LlamaFamilyModel(config, weights);
    }

    /// <summary>Every weight the architecture needs, in Hugging Face naming and order.</summary>
    public static IEnumerable<WeightShape> ExpectedWeights(ModelConfig config) =>
        config.ModelType == "gpt2" ? Gpt2Model.WeightShapes(config) : LlamaFamilyModel.WeightShapes(config);

    /// <summary>The name a weight has in this checkpoint: with the base-model prefix as a *ForCausalLM saves it, or
    /// without it as a bare base model saves it; null when neither is there.</summary>
    public static string? StoredName(Checkpoint checkpoint, string name)
    {
        if (checkpoint.Contains(name)) return name;
        foreach (var prefix in new[] { "model.", "transformer." })
            if (name.StartsWith(prefix, StringComparison.Ordinal) && checkpoint.Contains(name[prefix.Length..]))
                return name[prefix.Length..];
        return null;
    }
}
