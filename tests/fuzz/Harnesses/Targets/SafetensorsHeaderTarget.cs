using TrainableTokens.Core.IO;

namespace TrainableTokens.Fuzz.Targets;

/// <summary>A model.safetensors: the length prefix and JSON header, through <see cref="SafetensorsFile.Open"/> as every loader opens it.</summary>
public sealed class SafetensorsHeaderTarget : FuzzTarget
{
    public override string Name => "safetensors-header";
    public override string FileName => "model.safetensors";

    public override void Parse(string folder, string path)
    {
        using var file = SafetensorsFile.Open(path);
        foreach (var tensor in file.Tensors) file.Info(tensor.Name);
    }
}
