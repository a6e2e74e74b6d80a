using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tuners;

namespace TrainableTokens.Core.Tuners.TrainableTokens;

/// <summary>
/// Whether an adapter fits a model, from the adapter's files and the model's config.json alone (nothing is loaded):
/// its targets exist on the model (the <see cref="TokenTargets"/> rule), its token ids are inside the vocabulary, and
/// every targeted layer's rows are [token count, hidden size]. Scoring and Test-TokenAdapter ask before any compute.
/// </summary>
public static class AdapterCompatibility
{
    /// <summary>What does not fit, one sentence each (empty when the adapter fits). A LoRA adapter is checked tensor by
    /// tensor against the checkpoint's headers in <paramref name="modelFolder"/>, by the rules its merge uses.</summary>
    public static IReadOnlyList<string> Problems(string adapterFolder, string modelFolder, ModelConfig model)
    {
        if (PeftAdapter.MethodOf(adapterFolder) == PeftMethod.Lora) return Merging.AdapterMerge.LoraProblems(adapterFolder, modelFolder, model);
        var config = AdapterFolder.ReadConfig(adapterFolder);
        using var weights = AdapterFolder.OpenWeights(adapterFolder);
        var problems = new List<string>();
        var embedding = ModelArchitectures.InputEmbeddingPath(model.ModelType);
        var head = ModelArchitectures.LmHeadPath(model.ModelType);
        var outside = TokenIndexCheck.Outside(config.TokenIndices, model.VocabSize);
        if (outside.Count > 0)
            problems.Add($"token ids {Few(outside)} are outside the model's vocabulary of {model.VocabSize} (the adapter was trained on a larger vocabulary: resize the model with Add-TokenizerToken, or use the model it was trained on)");
        var targets = TokenTargets.Resolve(config.TargetModules, embedding, head, model.TieWordEmbeddings);
        if (targets is null)
        {
            problems.Add($"target_modules {config.TargetModules} matches none of this {model.ModelType} model's embedding modules ({embedding}, {head})");
            return problems;
        }
        foreach (var layer in targets.Layers)
        {
            var rows = AdapterFolder.FindRows(weights, layer);
            if (rows is null)
            {
                problems.Add($"it has no tensor '{AdapterFolder.KeyFor(layer)}' for the targeted module {layer} (it holds {Few(weights.Tensors.Select(t => t.Name).ToList())}): an adapter for another architecture");
                continue;
            }
            if (rows.Shape.Length != 2 || rows.Shape[0] != config.TokenIndices.Count || rows.Shape[1] != model.HiddenSize)
                problems.Add($"'{rows.Name}' is [{string.Join(", ", rows.Shape)}], but {config.TokenIndices.Count} tokens of this model (hidden size {model.HiddenSize}) need [{config.TokenIndices.Count}, {model.HiddenSize}]: an adapter for another model");
        }
        return problems;
    }

    /// <summary>Throws <see cref="InvalidAdapterException"/> naming the adapter, the model and the problems, when there are any.</summary>
    public static void Ensure(string adapterFolder, string modelFolder, ModelConfig model)
    {
        var problems = Problems(adapterFolder, modelFolder, model);
        if (problems.Count == 0) return;
        throw new InvalidAdapterException(
            $"The adapter '{adapterFolder}' does not fit the model '{modelFolder}': {string.Join("; ", problems.Take(3))}" +
            (problems.Count > 3 ? $"; and {problems.Count - 3} more" : "") + ". Give the model the adapter was trained for (-Model).", adapterFolder);
    }

    private static string Few<T>(IReadOnlyList<T> items) => TokenIndexCheck.Few(items);

    /// <summary>The token ids an adapter trains: token_indices, or a LoRA adapter's trainable_token_indices (every module's).</summary>
    private static IReadOnlyList<long> TokenIdsOf(string adapter)
    {
        if (PeftAdapter.MethodOf(adapter) != PeftMethod.Lora) return AdapterFolder.ReadConfig(adapter).TokenIndices;
        var lora = Lora.LoraAdapterFolder.ReadConfig(adapter);
        return lora.TrainableTokenIndices ?? lora.TrainableTokenIndicesByModule?.SelectMany(kv => kv.Value).Distinct().ToList() ?? (IReadOnlyList<long>)[];
    }

    /// <summary>Adapters active together must train different tokens: checked from their configs, before anything loads.</summary>
    public static void EnsureDisjoint(IReadOnlyList<string> adapterFolders) =>
        TokenIndexCheck.EnsureDisjoint(adapterFolders.Select(a => (a, (IEnumerable<long>)TokenIdsOf(a))));
}
