using System.Collections.Generic;
using TrainableTokens.Core.Models;

namespace TrainableTokens.Core.Tuners.TrainableTokens;

/// <summary>The target_modules names a model folder accepts (for tab completion): its input embedding, by suffix and by
/// full path, and its LM head.</summary>
public static class TargetModuleNames
{
    public static IReadOnlyList<(string Name, string Description)> For(string modelFolder)
    {
        var config = ModelConfigReader.ReadFolder(modelFolder);
        var embedding = ModelArchitectures.InputEmbeddingPath(config.ModelType);
        var head = ModelArchitectures.LmHeadPath(config.ModelType);
        var suffix = embedding[(embedding.LastIndexOf('.') + 1)..];
        var names = new List<(string, string)> { (suffix, $"The input embedding ({embedding}), by suffix") };
        if (suffix != embedding) names.Add((embedding, "The input embedding, by full module path"));
        names.Add((head, config.TieWordEmbeddings
            ? "The LM head: tied to the embedding here, so only together with it"
            : "The LM head's own rows (untied), so the model can predict the tokens"));
        return names;
    }
}
