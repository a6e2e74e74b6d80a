using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using static TorchSharp.torch;

namespace TrainableTokens.DeviceHarness;

/// <summary>Small safetensors files of float32 CPU tensors: what one run records and another compares against.</summary>
internal static class TensorFiles
{
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var scope = NewDisposeScope();
        var cpu = tensors.Select(t => new KeyValuePair<string, Tensor>(t.Key, t.Value.detach().to(ScalarType.Float32).cpu().contiguous())).ToList();
        SafetensorsWriter.Write(path, cpu, new Dictionary<string, string> { ["format"] = "pt" });
    }

    public static Dictionary<string, Tensor> Read(string path)
    {
        using var file = SafetensorsFile.Open(path);
        return file.Tensors.ToDictionary(t => t.Name, t => file.Load(t.Name).to(ScalarType.Float32));
    }

    /// <summary>max |a - b| over the two tensors (both moved to float32 CPU); infinity when the shapes differ.</summary>
    public static double MaxDiff(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        if (!a.shape.SequenceEqual(b.shape)) return double.PositiveInfinity;
        return (a.detach().to(ScalarType.Float32).cpu() - b.detach().to(ScalarType.Float32).cpu()).abs().max().item<float>();
    }
}
