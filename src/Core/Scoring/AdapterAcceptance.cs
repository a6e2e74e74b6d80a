using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Merging;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Scoring;

/// <summary>
/// The acceptance checks of an adapter, each a guarantee with its evidence: the folder is PEFT's layout, its rows are
/// finite, it fits the model (vocabulary, hidden size, targets), merging it changes only the listed rows (merged into a
/// temporary folder and compared tensor by tensor, row by row, with the base), and on a dataset it lowers the eval loss
/// (and stays under a limit). A check whose input failed an earlier one is Skipped, never passed.
/// </summary>
public static class AdapterAcceptance
{
    public const string PeftLayout = "PeftLayout";
    public const string RowsFinite = "RowsFinite";
    public const string MatchesModel = "MatchesModel";
    public const string OnlyListedRowsChange = "OnlyListedRowsChange";
    public const string EvalLossLower = "EvalLossLower";
    public const string EvalLossUnderMax = "EvalLossUnderMax";

    /// <summary>The default cut for the eval-loss checks: training's max_seq_length default.</summary>
    public const int DefaultMaxSeqLength = 512;

    public static IReadOnlyList<AdapterCheck> Run(AdapterTestRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.MaxEvalLoss is not null && request.Dataset is null)
            throw new ArgumentException("-MaxEvalLoss needs -Dataset: the eval loss is measured on it.", nameof(request));
        var adapter = Path.GetFullPath(request.AdapterFolder);
        var modelFolder = Path.GetFullPath(request.ModelFolder);
        // The model folder itself must be usable: that is an error, not a failed check of the adapter.
        var model = ModelConfigReader.ReadFolder(modelFolder);
        var checks = new List<AdapterCheck>();
        AdapterCheck Add(string name, AdapterCheckOutcome outcome, string detail, AdapterCheck? with = null)
        {
            var check = (with ?? new AdapterCheck(name, outcome, detail)) with { Adapter = adapter, Model = modelFolder };
            checks.Add(check);
            return check;
        }

        // A LoRA adapter has its own layout, values and merge rule; the checks and their order are the same.
        var lora = IsLora(adapter);
        TrainableTokensAdapterConfig? config = null;
        LoraAcceptance.Layout? loraLayout = null;
        var layout = lora ? LoraAcceptance.LayoutProblems(adapter, out loraLayout) : LayoutProblems(adapter, out config);
        Add(PeftLayout, layout.Count == 0 ? AdapterCheckOutcome.Passed : AdapterCheckOutcome.Failed,
            layout.Count > 0 ? Join(layout)
            : lora ? $"adapter_config.json (LORA, {loraLayout!}) and adapter_model.safetensors with PEFT's keys"
            : $"adapter_config.json (TRAINABLE_TOKENS, {config!.TokenIndices.Count} token ids) and adapter_model.safetensors with PEFT's keys");
        if (config is null && loraLayout is null)
        {
            foreach (var name in new[] { RowsFinite, MatchesModel, OnlyListedRowsChange })
                Add(name, AdapterCheckOutcome.Skipped, "not checked: the adapter's files cannot be read (see PeftLayout)");
            AddEvalSkips(request, Add, "the adapter's files cannot be read (see PeftLayout)");
            return checks;
        }

        var nonFinite = lora ? LoraAcceptance.NonFinite(adapter) : NonFiniteRows(adapter);
        Add(RowsFinite, nonFinite.Count == 0 ? AdapterCheckOutcome.Passed : AdapterCheckOutcome.Failed,
            nonFinite.Count == 0 ? (lora ? "every value of every LoRA pair, token row and saved module is finite" : "every value of every row is finite")
            : $"NaN or infinite values in {Join(nonFinite)}; retrain the adapter");

        var fit = AdapterCompatibility.Problems(adapter, modelFolder, model);
        Add(MatchesModel, fit.Count == 0 ? AdapterCheckOutcome.Passed : AdapterCheckOutcome.Failed,
            fit.Count == 0 ? $"token ids below the vocabulary of {model.VocabSize}, rows of hidden size {model.HiddenSize}, targets on this {model.ModelType} model" : Join(fit));
        if (fit.Count > 0 || layout.Count > 0)
        {
            Add(OnlyListedRowsChange, AdapterCheckOutcome.Skipped, "not checked: the adapter does not fit the model (see MatchesModel)");
            AddEvalSkips(request, Add, "the adapter does not fit the model (see MatchesModel)");
            return checks;
        }

        // A device that cannot run the eval is refused before the merge check copies the whole model.
        if (request.Dataset is not null) DeviceCheck.EnsureUsable(request.Device, request.Dtype);
        checks.Add((lora ? LoraAcceptance.MergeCheck(adapter, modelFolder) : MergeCheck(adapter, modelFolder, config!.TokenIndices)) with { Adapter = adapter, Model = modelFolder });

        if (request.Dataset is { } dataset)
        {
            using var scorer = ModelScorer.Open(new ScoringModel(modelFolder, [adapter]) { Device = request.Device, Dtype = request.Dtype });
            var data = scorer.ReadDataset(dataset, request.MaxSeqLength ?? Math.Min(DefaultMaxSeqLength, model.MaxPositions));
            var path = Path.GetFullPath(dataset);
            var with = scorer.Score(data, path, request.BatchSize).Loss;
            var without = scorer.Score(data, path, request.BatchSize, withAdapters: false).Loss;
            var lower = with < without ? AdapterCheckOutcome.Passed : AdapterCheckOutcome.Failed;
            var compared = F($"eval loss {with:0.####} with the adapter against {without:0.####} without ({with - without:+0.####;-0.####;0}) on {Path.GetFileName(path)}");
            Add(EvalLossLower, lower, compared, new AdapterCheck(EvalLossLower, lower, compared) { Value = with, Reference = without });
            if (request.MaxEvalLoss is { } max)
            {
                var outcome = with <= max ? AdapterCheckOutcome.Passed : AdapterCheckOutcome.Failed;
                var detail = F($"eval loss {with:0.####} with the adapter, limit {max:0.####}");
                Add(EvalLossUnderMax, outcome, detail, new AdapterCheck(EvalLossUnderMax, outcome, detail) { Value = with, Reference = max });
            }
        }
        return checks;
    }

    /// <summary>A merged model folder against its base: the same tensors and files, and only rows of <paramref name="request"/>'s token ids changed.</summary>
    public static IReadOnlyList<AdapterCheck> RunMerged(MergedModelTestRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var merged = Path.GetFullPath(request.MergedFolder);
        var modelFolder = Path.GetFullPath(request.ModelFolder);
        // A folder compared with itself would pass without proving anything.
        OutputGuard.EnsureApart(merged, "-MergedModel", new[] { new CommandInput("model folder", modelFolder) });
        ModelConfigReader.ReadFolder(modelFolder);
        ModelConfigReader.ReadFolder(merged);
        var diff = ModelFolderDiff.Compare(modelFolder, merged);
        return [Judge(diff, request.TokenIndices) with { Adapter = merged, Model = modelFolder }];
    }

    private static bool IsLora(string adapter)
    {
        try
        {
            return Tuners.PeftAdapter.MethodOf(adapter) == Tuners.PeftMethod.Lora;
        }
        catch (TrainableTokensException)
        {
            return false; // the Trainable Tokens layout check reports what is wrong with the folder
        }
    }

    private static AdapterCheck MergeCheck(string adapter, string modelFolder, IReadOnlyList<long> listed)
    {
        var temp = Directory.CreateTempSubdirectory("tt-check-").FullName;
        try
        {
            var output = Path.Combine(temp, "merged");
            AdapterMerge.Run(new AdapterMergeRequest(modelFolder, [adapter], output));
            return Judge(ModelFolderDiff.Compare(modelFolder, output), listed);
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    private static AdapterCheck Judge(FolderDifference diff, IReadOnlyList<long>? listed)
    {
        var changed = diff.ChangedRows;
        var other = diff.OtherChanges;
        var outside = listed is null ? [] : changed.Where(r => !listed.Contains(r)).ToList();
        var passed = other.Count == 0 && outside.Count == 0;
        var where = diff.Tensors.Count == 0 ? "no rows changed" : $"changed: {Join(diff.Tensors.Select(t => t.ToString()).ToList())}";
        var detail = passed
            ? (listed is null ? where : $"{where}; all within the {listed.Count} listed token ids")
            : other.Count > 0 ? $"more than rows changed: {Join(other)}" : $"rows outside the listed token ids changed: {Join(outside.Select(r => r.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList())} ({where})";
        return new AdapterCheck(OnlyListedRowsChange, passed ? AdapterCheckOutcome.Passed : AdapterCheckOutcome.Failed, detail) { ChangedRows = changed };
    }

    private static void AddEvalSkips(AdapterTestRequest request, Func<string, AdapterCheckOutcome, string, AdapterCheck?, AdapterCheck> add, string why)
    {
        if (request.Dataset is null) return;
        add(EvalLossLower, AdapterCheckOutcome.Skipped, "not checked: " + why, null);
        if (request.MaxEvalLoss is not null) add(EvalLossUnderMax, AdapterCheckOutcome.Skipped, "not checked: " + why, null);
    }

    /// <summary>PEFT's layout: a Trainable Tokens adapter_config.json, and adapter_model.safetensors holding only
    /// float [k, d] rows under base_model.model.*.trainable_tokens_delta with {"format": "pt"} metadata.</summary>
    private static List<string> LayoutProblems(string adapter, out TrainableTokensAdapterConfig? config)
    {
        var problems = new List<string>();
        config = null;
        try
        {
            config = AdapterFolder.ReadConfig(adapter);
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
            foreach (var t in weights.Tensors)
            {
                if (!t.Name.StartsWith(AdapterFolder.KeyPrefix, StringComparison.Ordinal) || AdapterFolder.ModulePathOf(t.Name) is null)
                    problems.Add($"'{t.Name}' is not a key PEFT writes (base_model.model.<module>.trainable_tokens_delta)");
                else if (t.DType is not (SafetensorsDType.F32 or SafetensorsDType.BF16 or SafetensorsDType.F16 or SafetensorsDType.F64))
                    problems.Add($"'{t.Name}' is {t.DType.HeaderName()}, not floating-point rows");
                else if (t.Shape.Length != 2 || (config is not null && t.Shape[0] != config.TokenIndices.Count))
                    problems.Add($"'{t.Name}' is [{string.Join(", ", t.Shape)}], but {config?.TokenIndices.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "k"} token ids need [{config?.TokenIndices.Count}, hidden size]");
            }
        }
        catch (TrainableTokensException e)
        {
            problems.Add(e.Message);
        }
        return problems;
    }

    private static List<string> NonFiniteRows(string adapter)
    {
        using var weights = AdapterFolder.OpenWeights(adapter);
        var found = new List<string>();
        foreach (var t in weights.Tensors.Where(t => AdapterFolder.ModulePathOf(t.Name) is not null && t.DType is SafetensorsDType.F32 or SafetensorsDType.BF16 or SafetensorsDType.F16 or SafetensorsDType.F64))
        {
            using var scope = NewDisposeScope();
            var rows = weights.Load(t.Name);
            var bad = rows.isfinite().logical_not().reshape(rows.shape[0], -1).any(1).nonzero().reshape(-1).data<long>().ToArray();
            if (bad.Length > 0) found.Add($"'{t.Name}' rows {string.Join(", ", bad.Take(5))}{(bad.Length > 5 ? $" and {bad.Length - 5} more" : "")}");
        }
        return found;
    }

    private static string F(FormattableString text) => FormattableString.Invariant(text);

    private static string Join(IReadOnlyList<string> items) =>
        string.Join("; ", items.Take(3)) + (items.Count > 3 ? $"; and {items.Count - 3} more" : "");
}
