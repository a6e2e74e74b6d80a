using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Fuzz.Targets;

/// <summary>A run file, through <see cref="RunConfig.Load"/> and its validation, as Test-TrainableTokensConfig reads it.</summary>
public sealed class RunYamlTarget : FuzzTarget
{
    public override string Name => "run-yaml";
    public override string FileName => "fuzz.run.yaml";

    public override void Parse(string folder, string path)
    {
        var config = RunConfig.Load(path);
        foreach (var finding in config.Validate()) _ = finding.Message;
        config.ToRunFile();
    }
}
