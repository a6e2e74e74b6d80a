using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace TrainableTokens.Core.Tuners.TrainableTokens;

/// <summary>One tensor of an adapter file.</summary>
public sealed record AdapterTensor(string Name, string ModulePath, long[] Shape, string Dtype);

/// <summary>What an adapter folder holds, read without loading any model: for Get-TokenAdapter.</summary>
public sealed record AdapterSummary(
    string Path, string PeftType, IReadOnlyList<long> TokenIndices, string? TargetModules, bool InitWeights,
    string? BaseModelNameOrPath, string? PeftVersion, IReadOnlyList<AdapterTensor> Tensors, IReadOnlyList<string> ExtraConfigKeys)
{
    public static AdapterSummary Read(string folder)
    {
        var config = AdapterFolder.ReadConfig(folder);
        using var weights = AdapterFolder.OpenWeights(folder);
        var tensors = weights.Tensors
            .Select(t => new AdapterTensor(t.Name, AdapterFolder.ModulePathOf(t.Name) ?? "", t.Shape, t.DType.ToString()))
            .ToList();
        return new AdapterSummary(System.IO.Path.GetFullPath(folder), TrainableTokensAdapterConfig.PeftType, config.TokenIndices,
            config.TargetModules?.ToString(), config.InitWeights, config.BaseModelNameOrPath, config.Version, tensors, config.ExtraFields.Keys.ToList());
    }
}
