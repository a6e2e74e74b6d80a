using System;
using System.Collections.Generic;
using TorchSharp.Modules;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Core.Training;

/// <summary>A Trainable Tokens adapter as the trainer trains it: its rows are the parameters; there is no dropout.</summary>
internal sealed class TrainableTokensTraining : ITrainingTuner
{
    private readonly string _name;

    public TrainableTokensTraining(TrainableTokensModel tuner, string name)
    {
        Tuner = tuner;
        _name = name;
        TrainableParameters = tuner.TrainableParameters(name);
    }

    public TrainableTokensModel Tuner { get; }

    public string PeftType => TrainableTokensAdapterConfig.PeftType;

    public IReadOnlyList<Parameter> TrainableParameters { get; }

    public bool Training { get; set; }

    public void Save(string folder, bool overwrite, Action<string>? alsoWrite = null) =>
        AdapterFolder.Save(Tuner, _name, folder, overwrite, alsoWrite);

    public void Dispose() => Tuner.Dispose();
}
