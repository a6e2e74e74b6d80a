using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Merging;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Scoring;

/// <summary>
/// Test-TokenAdapter's checks for a LoRA adapter: PEFT's LoRA layout, finite values, and a merge that changes exactly
/// what the adapter may change (its targeted projections and saved modules, whole; the embedding and head only at its
/// token ids) and nothing else.
/// </summary>
internal static class LoraAcceptance
{
    /// <summary>What a readable LoRA adapter holds, for the PeftLayout detail.</summary>
    public sealed record Layout(int Pairs, int TokenIds, int SavedModules)
    {
        public override string ToString() =>
            $"{Pairs} LoRA pair(s)" + (TokenIds > 0 ? $", {TokenIds} trainable token id(s)" : "") + (SavedModules > 0 ? $", {SavedModules} saved module tensor(s)" : "");
    }

    private const string TokenSuffix = ".token_adapter.trainable_tokens_delta";

    public static List<string> LayoutProblems(string adapter, out Layout? layout)
    {
        var problems = new List<string>();
        layout = null;
        LoraConfig? config = null;
        try
        {
            config = LoraMergePlan.ReadConfig(adapter).Config;
        }
        catch (InvalidAdapterException e)
        {
            problems.Add(e.Message);
        }
        try
        {
            using var weights = AdapterFolder.OpenWeights(adapter);
            if (!weights.Metadata.TryGetValue("format", out var format) || format != "pt")
                problems.Add($"{AdapterFolder.WeightsFileName} has no {{\"format\": \"pt\"}} metadata, which PEFT writes and transformers expects");
            if (weights.Tensors.Count == 0) problems.Add($"{AdapterFolder.WeightsFileName} holds no tensors");
            int pairs = 0, saved = 0;
            foreach (var t in weights.Tensors)
            {
                if (!t.Name.StartsWith(LoraAdapterFolder.KeyPrefix, StringComparison.Ordinal))
                    problems.Add($"'{t.Name}' is not a key PEFT writes (base_model.model.<module>.lora_A.weight, .lora_B.weight, .token_adapter.trainable_tokens_delta or a saved module's parameter)");
                else if (t.DType is not (SafetensorsDType.F32 or SafetensorsDType.BF16 or SafetensorsDType.F16 or SafetensorsDType.F64))
                    problems.Add($"'{t.Name}' is {t.DType.HeaderName()}, not floating-point values");
                else if (t.Name.Contains(".lora_A.", StringComparison.Ordinal)) pairs++;
                else if (!t.Name.Contains(".lora_B.", StringComparison.Ordinal) && !t.Name.Contains(TokenSuffix, StringComparison.Ordinal)) saved++;
            }
            if (config is not null)
            {
                var ids = config.TrainableTokenIndices?.Count ?? config.TrainableTokenIndicesByModule?.SelectMany(kv => kv.Value).Distinct().Count() ?? 0;
                layout = new Layout(pairs, ids, saved);
            }
        }
        catch (TrainableTokensException e)
        {
            problems.Add(e.Message);
        }
        return problems;
    }

    public static List<string> NonFinite(string adapter)
    {
        using var weights = AdapterFolder.OpenWeights(adapter);
        var found = new List<string>();
        foreach (var t in weights.Tensors.Where(t => t.DType is SafetensorsDType.F32 or SafetensorsDType.BF16 or SafetensorsDType.F16 or SafetensorsDType.F64))
        {
            using var scope = NewDisposeScope();
            if (!weights.Load(t.Name).isfinite().all().item<bool>()) found.Add($"'{t.Name}'");
        }
        return found;
    }

    /// <summary>Merges into a temporary folder and compares it with the base, tensor by tensor.</summary>
    public static AdapterCheck MergeCheck(string adapter, string modelFolder)
    {
        var temp = Directory.CreateTempSubdirectory("tt-check-").FullName;
        try
        {
            var output = Path.Combine(temp, "merged");
            var merge = AdapterMerge.Run(new AdapterMergeRequest(modelFolder, [adapter], output));
            return Judge(ModelFolderDiff.Compare(modelFolder, output), merge);
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>Passes when every difference is one the adapter may make: a targeted or saved tensor (any rows), or rows of an embedding weight at its token ids.</summary>
    internal static AdapterCheck Judge(FolderDifference diff, AdapterMergeResult merge)
    {
        var whole = merge.Tensors.Select(t => t.Tensor).ToHashSet(StringComparer.Ordinal);
        var rows = merge.Changes.GroupBy(c => c.Tensor).ToDictionary(g => g.Key, g => g.SelectMany(c => c.TokenIndices).ToHashSet(), StringComparer.Ordinal);
        var unexpected = new List<string>();
        var tokenRows = new List<long>();
        foreach (var t in diff.Tensors)
        {
            if (whole.Contains(t.Name)) continue;
            if (!t.Whole && rows.TryGetValue(t.Name, out var allowed))
            {
                var outside = t.Rows.Where(r => !allowed.Contains(r)).ToList();
                if (outside.Count > 0) unexpected.Add($"{t.Name} rows {string.Join(", ", outside.Take(10))} (outside the token ids)");
                tokenRows.AddRange(t.Rows);
                continue;
            }
            unexpected.Add($"{t} (the adapter does not target it)");
        }
        unexpected.AddRange(diff.MissingTensors.Select(t => $"missing tensor {t}").Concat(diff.ExtraTensors.Select(t => $"extra tensor {t}")).Concat(diff.ChangedFiles.Select(f => $"file {f}")));
        var changedWhole = diff.Tensors.Count(t => whole.Contains(t.Name));
        var may = $"{whole.Count} targeted or saved tensor(s)" + (rows.Count > 0 ? $" and rows {string.Join(", ", rows.Values.SelectMany(v => v).Distinct().Order().Take(10))} of {string.Join(", ", rows.Keys)}" : "");
        var passed = unexpected.Count == 0;
        var detail = passed
            ? $"changed: {changedWhole} of the {may} the adapter may change; nothing else"
            : $"changes beyond the {may} the adapter may change: {string.Join("; ", unexpected.Take(3))}{(unexpected.Count > 3 ? $"; and {unexpected.Count - 3} more" : "")}";
        return new AdapterCheck(AdapterAcceptance.OnlyListedRowsChange, passed ? AdapterCheckOutcome.Passed : AdapterCheckOutcome.Failed, detail)
        {
            ChangedRows = tokenRows.Distinct().Order().ToList(),
        };
    }
}
