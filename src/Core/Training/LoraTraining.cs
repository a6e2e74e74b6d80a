using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TorchSharp.Modules;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Training;

/// <summary>A LoRA adapter as the trainer trains it: A and B of every targeted layer (and, where the config has
/// trainable_token_indices, what LoraModel adds for them) are the parameters; dropout is on only while training.</summary>
internal sealed class LoraTraining : ITrainingTuner
{
    private readonly string _name;

    private LoraTraining(LoraModel tuner, string name)
    {
        Tuner = tuner;
        _name = name;
        TrainableParameters = tuner.TrainableParameters(name);
    }

    public LoraModel Tuner { get; }

    public string PeftType => LoraConfig.PeftType;

    public IReadOnlyList<Parameter> TrainableParameters { get; }

    public bool Training
    {
        get => Tuner.Training;
        set => Tuner.Training = value;
    }

    /// <summary>A new adapter <paramref name="name"/> from <paramref name="config"/>, its A matrices drawn from <paramref name="seed"/>.</summary>
    public static LoraTraining Start(CausalLanguageModel model, string name, LoraConfig config, long seed)
    {
        var tuner = new LoraModel(model);
        try
        {
            using var generator = new Generator((ulong)seed, CPU);
            tuner.AddAdapter(name, config, generator);
            return new LoraTraining(tuner, name);
        }
        catch
        {
            tuner.Dispose();
            throw;
        }
    }

    /// <summary>The adapter of checkpoint <paramref name="folder"/>, loaded to continue training it.</summary>
    public static LoraTraining Resume(CausalLanguageModel model, string name, string folder)
    {
        var tuner = new LoraModel(model);
        try
        {
            LoraAdapterFolder.Load(tuner, folder, name);
            return new LoraTraining(tuner, name);
        }
        catch
        {
            tuner.Dispose();
            throw;
        }
    }

    public void Save(string folder, bool overwrite, Action<string>? alsoWrite = null)
    {
        if (alsoWrite is null)
        {
            LoraAdapterFolder.Save(Tuner, _name, folder, overwrite);
            return;
        }
        // A checkpoint is one atomic folder: the adapter is saved into a folder inside it, then its two files move up.
        AtomicFolder.Write(folder, temp =>
        {
            alsoWrite(temp);
            var inner = Path.Combine(temp, "adapter");
            LoraAdapterFolder.Save(Tuner, _name, inner, overwrite: false);
            foreach (var file in new[] { LoraConfig.FileName, AdapterFolder.WeightsFileName })
                File.Move(Path.Combine(inner, file), Path.Combine(temp, file));
            Directory.Delete(inner, recursive: true);
        }, overwrite, writer: null);
    }

    public void Dispose() => Tuner.Dispose();
}
