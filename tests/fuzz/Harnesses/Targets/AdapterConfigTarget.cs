using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Fuzz.Targets;

/// <summary>An adapter folder's adapter_config.json, through <see cref="AdapterFolder.ReadConfig"/>, and written back as Save writes it.</summary>
public sealed class AdapterConfigTarget : FuzzTarget
{
    public override string Name => "adapter-config";
    public override string FileName => TrainableTokensAdapterConfig.FileName;

    public override void Parse(string folder, string path) => AdapterFolder.ReadConfig(folder).ToJson();
}
