using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Preflight;

namespace TrainableTokens.Core.Tuners.Lora;

/// <summary>The target_modules names a LoRA run on a model folder accepts (for tab completion): all-linear, then each
/// projection's suffix in model order, with how many layers hold it.</summary>
public static class LoraTargetNames
{
    public static IReadOnlyList<(string Name, string Description)> For(string modelFolder)
    {
        var config = ModelConfigReader.ReadFolder(modelFolder);
        var names = new List<(string, string)> { ("all-linear", "Every projection of every layer (not the LM head)") };
        foreach (var group in LoraModelCheck.Projections(config).GroupBy(p => p.Path[(p.Path.LastIndexOf('.') + 1)..]))
        {
            var (_, input, output) = group.First();
            names.Add((group.Key, $"{group.Count()} projection(s), {input} -> {output}, e.g. {group.First().Path}"));
        }
        return names;
    }
}
