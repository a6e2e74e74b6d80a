using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Merging;
using TrainableTokens.Core.Scoring;
using TrainableTokens.Core.Training;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Scoring;

/// <summary>Test-TokenAdapter's checks on the tiny Llama 3 model: each passes on a good adapter and fails on the fault it guards against.</summary>
public sealed class AdapterAcceptanceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-accept-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Dictionary<string, AdapterCheck> ByName(IEnumerable<AdapterCheck> checks) => checks.ToDictionary(c => c.Name);

    [Fact]
    public void A_trained_adapter_passes_every_check_and_its_merge_changes_only_its_rows()
    {
        var train = new TrainingConfig
        {
            BaseModel = Examples.Llama3, Dataset = Examples.QuickstartData, OutputDir = Path.Combine(_dir, "trained"),
            LearningRate = 0.05, MaxSteps = 6, PerDeviceTrainBatchSize = 2, MaxSeqLength = 64, Seed = 1, SaveSteps = 100,
        };
        var result = Trainer.Run(new TrainingRequest(new RunConfig { TrainableTokens = new TrainableTokensConfig { TokenIndices = new[] { 10002, 10003 } }, Training = train }));
        var before = Directory.EnumerateDirectories(Path.GetTempPath(), "tt-check-*").ToHashSet();
        var checks = AdapterAcceptance.Run(new AdapterTestRequest(result.AdapterFolder!, Examples.Llama3) { Dataset = Examples.QuickstartData, MaxEvalLoss = 100, MaxSeqLength = 64 });

        Assert.Equal(new[] { "PeftLayout", "RowsFinite", "MatchesModel", "OnlyListedRowsChange", "EvalLossLower", "EvalLossUnderMax" }, checks.Select(c => c.Name));
        Assert.All(checks, c => Assert.True(c.Passed, c.ToString()));
        var byName = ByName(checks);
        Assert.Equal(new long[] { 10002, 10003 }, byName["OnlyListedRowsChange"].ChangedRows);
        Assert.True(byName["EvalLossLower"].Value < byName["EvalLossLower"].Reference);
        // No temporary merge is left behind.
        Assert.DoesNotContain(Directory.EnumerateDirectories(Path.GetTempPath(), "tt-check-*"), d => !before.Contains(d));

        // Its base model is read from adapter_config.json when none is given.
        Assert.Equal(Examples.Llama3, AdapterBaseModel.Resolve(result.AdapterFolder!, null, _dir));
        var tight = AdapterAcceptance.Run(new AdapterTestRequest(result.AdapterFolder!, Examples.Llama3) { Dataset = Examples.QuickstartData, MaxEvalLoss = 0.01, MaxSeqLength = 64 });
        Assert.False(ByName(tight)["EvalLossUnderMax"].Passed);
        Assert.Contains("limit 0.01", ByName(tight)["EvalLossUnderMax"].Detail);
    }

    [Fact]
    public void Non_finite_rows_fail_RowsFinite_and_name_the_rows()
    {
        var adapter = WriteAdapter("nan", [10002, 10003], 32, (rows) => rows[1, 3] = float.NaN);
        var checks = ByName(AdapterAcceptance.Run(new AdapterTestRequest(adapter, Examples.Llama3)));
        Assert.True(checks["PeftLayout"].Passed);
        Assert.False(checks["RowsFinite"].Passed);
        Assert.Contains("rows 1", checks["RowsFinite"].Detail);
        Assert.True(checks["MatchesModel"].Passed);
    }

    [Fact]
    public void An_adapter_for_another_model_fails_MatchesModel_and_skips_the_merge_and_loss_checks()
    {
        var adapter = WriteAdapter("wide", [10002], 64);
        var checks = ByName(AdapterAcceptance.Run(new AdapterTestRequest(adapter, Examples.Llama3) { Dataset = Examples.QuickstartData }));
        Assert.False(checks["MatchesModel"].Passed);
        Assert.Contains("hidden size 32", checks["MatchesModel"].Detail);
        Assert.Equal(AdapterCheckOutcome.Skipped, checks["OnlyListedRowsChange"].Outcome);
        Assert.Equal(AdapterCheckOutcome.Skipped, checks["EvalLossLower"].Outcome);
    }

    [Fact]
    public void A_folder_not_in_PEFTs_layout_fails_PeftLayout()
    {
        var adapter = WriteAdapter("keys", [10002], 32, key: "model.embed_tokens.weight", metadata: false);
        var checks = ByName(AdapterAcceptance.Run(new AdapterTestRequest(adapter, Examples.Llama3)));
        Assert.False(checks["PeftLayout"].Passed);
        Assert.Contains("format", checks["PeftLayout"].Detail);
        Assert.Contains("'model.embed_tokens.weight' is not a key PEFT writes", checks["PeftLayout"].Detail);
        Assert.False(checks["MatchesModel"].Passed);

        var empty = Path.Combine(_dir, "empty");
        Directory.CreateDirectory(empty);
        var none = ByName(AdapterAcceptance.Run(new AdapterTestRequest(empty, Examples.Llama3)));
        Assert.False(none["PeftLayout"].Passed);
        Assert.Contains("adapter_config.json", none["PeftLayout"].Detail);
        Assert.Equal(AdapterCheckOutcome.Skipped, none["RowsFinite"].Outcome);
    }

    [Fact]
    public void A_merged_folder_that_changed_a_row_outside_the_list_fails_with_that_row()
    {
        var adapter = WriteAdapter("two", [10002, 10005], 32);
        var merged = Path.Combine(_dir, "merged");
        AdapterMerge.Run(new AdapterMergeRequest(Examples.Llama3, [adapter], merged));
        var ok = AdapterAcceptance.RunMerged(new MergedModelTestRequest(merged, Examples.Llama3, [10002, 10005]))[0];
        Assert.True(ok.Passed, ok.Detail);
        var bad = AdapterAcceptance.RunMerged(new MergedModelTestRequest(merged, Examples.Llama3, [10002]))[0];
        Assert.False(bad.Passed);
        Assert.Contains("10005", bad.Detail);
        Assert.Equal(new long[] { 10002, 10005 }, bad.ChangedRows);

        File.AppendAllText(Path.Combine(merged, "config.json"), " ");
        var file = AdapterAcceptance.RunMerged(new MergedModelTestRequest(merged, Examples.Llama3, [10002, 10005]))[0];
        Assert.False(file.Passed);
        Assert.Contains("file config.json", file.Detail);
    }

    [Fact]
    public void Without_a_model_a_hub_id_or_a_missing_base_model_is_an_error_that_asks_for_Model()
    {
        var adapter = WriteAdapter("hub", [10002], 32, baseModel: "meta-llama/Llama-3.2-1B");
        var e = Assert.Throws<BaseModelNotFoundException>(() => AdapterBaseModel.Resolve(adapter, null, _dir));
        Assert.Contains("meta-llama/Llama-3.2-1B", e.Message);
        Assert.Contains("-Model", e.Message);
        var none = WriteAdapter("none", [10002], 32);
        Assert.Throws<BaseModelNotFoundException>(() => AdapterBaseModel.Resolve(none, null, _dir));
        Assert.Equal(Examples.Llama3, AdapterBaseModel.Resolve(none, Examples.Llama3, _dir));
    }

    private string WriteAdapter(string name, long[] ids, int hidden, Action<Tensor>? change = null, string? key = null, bool metadata = true, string? baseModel = null)
    {
        var folder = Path.Combine(_dir, name);
        Directory.CreateDirectory(folder);
        var config = new TrainableTokensAdapterConfig { TokenIndices = ids, TargetModules = TargetModules.Regex("model.embed_tokens"), BaseModelNameOrPath = baseModel };
        File.WriteAllText(Path.Combine(folder, TrainableTokensAdapterConfig.FileName), config.ToJson());
        using var rows = full(ids.Length, hidden, 0.25f);
        change?.Invoke(rows);
        SafetensorsWriter.Write(Path.Combine(folder, AdapterFolder.WeightsFileName), [new KeyValuePair<string, Tensor>(key ?? AdapterFolder.KeyFor("model.embed_tokens"), rows)],
            metadata ? new Dictionary<string, string> { ["format"] = "pt" } : null);
        return folder;
    }

    [Fact]
    public void A_device_that_cannot_run_the_eval_is_refused_before_the_merge_check_copies_the_model()
    {
        var adapter = Path.Combine(Examples.Root, "examples", "adapters", "quickstart");
        // The merge check works in a tt-check-* folder under the temp folder: watch for one being made at all.
        var made = 0;
        using var watcher = new FileSystemWatcher(Path.GetTempPath(), "tt-check-*") { NotifyFilter = NotifyFilters.DirectoryName, EnableRaisingEvents = true };
        watcher.Created += (_, _) => System.Threading.Interlocked.Increment(ref made);

        Assert.Throws<UnusableDeviceException>(() => AdapterAcceptance.Run(new AdapterTestRequest(adapter, Examples.Llama3) { Dataset = Examples.QuickstartData, Device = "gpu" }));

        System.Threading.Thread.Sleep(300);
        Assert.Equal(0, made);
    }

    [Fact]
    public void A_merged_folder_compared_with_itself_is_refused_rather_than_passed()
    {
        var e = Assert.Throws<OutputConflictException>(() => AdapterAcceptance.RunMerged(new MergedModelTestRequest(Examples.Llama3, Examples.Llama3, new long[] { 10002 })));

        Assert.Contains("-MergedModel", e.Message);
    }
}
