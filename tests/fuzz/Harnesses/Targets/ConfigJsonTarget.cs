using TrainableTokens.Core.Models;

namespace TrainableTokens.Fuzz.Targets;

/// <summary>A model folder's config.json, through <see cref="ModelConfigReader.ReadFolder"/>.</summary>
public sealed class ConfigJsonTarget : FuzzTarget
{
    public override string Name => "config-json";
    public override string FileName => ModelConfigReader.FileName;

    public override void Parse(string folder, string path) => ModelConfigReader.ReadFolder(folder);
}
