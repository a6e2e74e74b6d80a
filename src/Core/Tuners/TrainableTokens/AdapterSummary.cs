using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Models;

namespace TrainableTokens.Core.Tuners.TrainableTokens;

/// <summary>One tensor of an adapter file.</summary>
public sealed record AdapterTensor(string Name, string ModulePath, long[] Shape, string Dtype)
{
    // Printed inside an adapter's summary: the record's default would show "Shape = System.Int64[]".
    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}] {Dtype}";
}

/// <summary>What an adapter does with the LM head's rows.</summary>
public enum AdapterHeadRows
{
    /// <summary>No lm_head entry: the head is untouched (or, on a tied model, follows the embedding's rows).</summary>
    None,
    /// <summary>The head has rows of its own (target_modules names lm_head, e.g. [embed_tokens, lm_head] on an untied model).</summary>
    Own,
    /// <summary>The lm_head entry repeats the embedding's rows, as PEFT 0.20+ saves a tied head.</summary>
    TiedCopy,
}

/// <summary>What an adapter folder holds, read without loading any model: for Get-TokenAdapter.</summary>
public sealed record AdapterSummary(
    string Path, string PeftType, IReadOnlyList<long> TokenIndices, string? TargetModules, bool InitWeights,
    string? BaseModelNameOrPath, string? PeftVersion, IReadOnlyList<AdapterTensor> Tensors, IReadOnlyList<string> ExtraConfigKeys)
{
    /// <summary>The modules with rows of their own, the embedding first: e.g. model.embed_tokens and lm_head.</summary>
    public IReadOnlyList<string> Modules { get; init; } = System.Array.Empty<string>();

    /// <summary>Whether the LM head's rows are trained, and how the file holds them.</summary>
    public AdapterHeadRows HeadRows { get; init; }

    public static AdapterSummary Read(string folder)
    {
        var config = AdapterFolder.ReadConfig(folder);
        using var weights = AdapterFolder.OpenWeights(folder);
        var tensors = weights.Tensors
            .Select(t => new AdapterTensor(t.Name, AdapterFolder.ModulePathOf(t.Name) ?? "", t.Shape, t.DType.ToString()))
            .ToList();
        var (modules, head) = HeadRowsOf(config, weights, tensors);
        return new AdapterSummary(System.IO.Path.GetFullPath(folder), TrainableTokensAdapterConfig.PeftType, config.TokenIndices,
            config.TargetModules?.ToString(), config.InitWeights, config.BaseModelNameOrPath, config.Version, tensors, config.ExtraFields.Keys.ToList())
        {
            Modules = modules,
            HeadRows = head,
        };
    }

    /// <summary>
    /// Without a model, the rule the others apply with one: an lm_head entry that equals the embedding's is a tied
    /// head's copy; one that differs is the head's own rows, which target_modules must then name (or it is an error
    /// naming both keys, as loading and merging refuse it).
    /// </summary>
    private static (IReadOnlyList<string> Modules, AdapterHeadRows Head) HeadRowsOf(TrainableTokensAdapterConfig config, IO.SafetensorsFile weights, List<AdapterTensor> tensors)
    {
        var headPath = ModelArchitectures.LmHeadPath("");
        // The embedding first, then the head, whatever order the file's header lists them in.
        var modules = tensors.Select(t => t.ModulePath).Where(m => m.Length > 0).Distinct()
            .OrderBy(m => m == headPath).ThenBy(m => m, System.StringComparer.Ordinal).ToList();
        if (!modules.Contains(headPath)) return (modules, AdapterHeadRows.None);
        var embedding = modules.FirstOrDefault(m => m != headPath);
        if (embedding is null) return (modules, AdapterHeadRows.Own);
        var headInfo = AdapterFolder.FindRows(weights, headPath)!;
        var embeddingInfo = AdapterFolder.FindRows(weights, embedding)!;
        if (config.TargetModules?.Matches(headPath) == true)
        {
            if (!AdapterFolder.SameRows(weights, headInfo, embeddingInfo)) return (modules, AdapterHeadRows.Own);
        }
        else
        {
            AdapterFolder.CheckSameRows(weights, headInfo, embeddingInfo, $"target_modules ({config.TargetModules?.ToString() ?? "the input embedding"}) does not name {headPath}, so that entry can only be a tied head's copy");
        }
        return (modules.Where(m => m != headPath).ToList(), AdapterHeadRows.TiedCopy);
    }
}
