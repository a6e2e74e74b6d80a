using System;
using System.Collections.Generic;
using TorchSharp.Modules;

namespace TrainableTokens.Core.Training;

/// <summary>
/// What the trainer needs of a tuner, whichever method it is (Trainable Tokens, LoRA): the adapter being trained is
/// already in the model; the loop optimises its parameters, turns training behaviour (dropout) on and off around
/// evaluation, and saves the adapter in PEFT's format into checkpoints and output_dir.
/// </summary>
internal interface ITrainingTuner : IDisposable
{
    /// <summary>PEFT's name for the method (TRAINABLE_TOKENS, LORA), as adapter_config.json and trainer_state.json say it.</summary>
    string PeftType { get; }

    /// <summary>The tensors the optimiser updates, in a fixed order (the optimiser's state is saved and loaded by position).</summary>
    IReadOnlyList<Parameter> TrainableParameters { get; }

    /// <summary>True while training (dropout on); false for evaluation.</summary>
    bool Training { get; set; }

    /// <summary>Writes the adapter's adapter_config.json and adapter_model.safetensors into <paramref name="folder"/>
    /// atomically, with what <paramref name="alsoWrite"/> adds (a checkpoint's trainer state and optimiser).</summary>
    void Save(string folder, bool overwrite, Action<string>? alsoWrite = null);
}
