using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Jobs;
using TrainableTokens.Core.Merging;
using TrainableTokens.Core.Scoring;
using TrainableTokens.Core.Training;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;
using LoraSection = TrainableTokens.Core.Configuration.LoraConfig;

namespace TrainableTokens.Core.Tests.Jobs;

/// <summary>Two tiny adapters trained once by the engine (Trainable Tokens, and LoRA with token rows) on the tiny Llama 3
/// model: what a job's PEFT run would have written for the same run file.</summary>
public sealed class TrainedAdapters : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-job-trained-").FullName;

    public TrainedAdapters()
    {
        TrainingConfig Train(string name) => new()
        {
            BaseModel = Examples.Llama3, Dataset = Examples.QuickstartData, OutputDir = Path.Combine(_dir, name),
            LearningRate = 0.05, MaxSteps = 2, PerDeviceTrainBatchSize = 2, MaxSeqLength = 64, Seed = 1, SaveSteps = 100,
        };
        Tokens = Trainer.Run(new TrainingRequest(new RunConfig { TrainableTokens = new TrainableTokensConfig { TokenIndices = [10002, 10003] }, Training = Train("tokens") })).AdapterFolder!;
        var lora = new LoraSection
        {
            R = 4, LoraAlpha = 8, LoraDropout = 0, TargetModules = StringOrList.FromList(["q_proj", "v_proj"]),
            TrainableTokenIndices = JsonSerializer.SerializeToElement(new[] { 10002, 10003 }),
        };
        Lora = Trainer.Run(new TrainingRequest(new RunConfig { Lora = lora, Training = Train("lora") })).AdapterFolder!;
    }

    public string Tokens { get; }
    public string Lora { get; }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}

/// <summary>Import-TokenTrainingJob's engine: job folders written by hand as Export-TokenTrainingJob and a PEFT run
/// would leave them, good and with each known trap.</summary>
public sealed class JobImportTests : IDisposable, IClassFixture<TrainedAdapters>
{
    private const string Embedding = "base_model.model.model.embed_tokens.trainable_tokens_delta";
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-job-import-").FullName;
    private readonly TrainedAdapters _trained;

    public JobImportTests(TrainedAdapters trained) => _trained = trained;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static JsonObject ConfigOf(string adapter) => JsonNode.Parse(File.ReadAllText(Path.Combine(adapter, "adapter_config.json")))!.AsObject();

    /// <summary>A job folder: job.json whose adapter_config is the trained adapter's, and <paramref name="output"/> (relative to
    /// the job) holding that adapter as PEFT 0.21.0 would save it: its config with another peft_version (edited by
    /// <paramref name="editConfig"/>) and its tensors renamed by <paramref name="rename"/> (dropped where it gives null).</summary>
    private string Job(string name, string adapter, string output = "output", Func<string, string?>? rename = null,
        Action<JsonObject>? editConfig = null, Action<JsonObject>? editJob = null, bool writeWeights = true)
    {
        var job = Path.Combine(_dir, "jobs", name);
        Directory.CreateDirectory(job);
        var config = ConfigOf(adapter);
        var method = (string)config["peft_type"]!;
        var root = new JsonObject
        {
            ["format"] = 1, ["kind"] = "trainabletokens-job", ["exported_by"] = "TrainableTokens test", ["method"] = method,
            ["base_model"] = Examples.Llama3, ["dtype"] = "float32", ["adapter_config"] = config.DeepClone(),
        };
        editJob?.Invoke(root);
        File.WriteAllText(Path.Combine(job, "job.json"), root.ToJsonString());
        var folder = Path.Combine(job, output);
        Directory.CreateDirectory(folder);
        var written = config.DeepClone().AsObject();
        written["peft_version"] = "0.21.0";
        editConfig?.Invoke(written);
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), written.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        if (writeWeights) Rewrite(Path.Combine(adapter, "adapter_model.safetensors"), Path.Combine(folder, "adapter_model.safetensors"), rename ?? (n => n));
        return job;
    }

    private static void Rewrite(string source, string target, Func<string, string?> rename, Func<SafetensorsTensorInfo, Tensor?>? replace = null)
    {
        using var weights = SafetensorsFile.Open(source);
        var tensors = weights.Tensors.Where(t => rename(t.Name) is not null).Select(t =>
        {
            var replaced = replace?.Invoke(t);
            return replaced is null
                ? new TensorSource(rename(t.Name)!, t.DType, t.Shape, () => weights.Load(t.Name))
                : new TensorSource(rename(t.Name)!, t.DType, replaced.shape, () => replaced);
        }).ToList();
        SafetensorsWriter.WriteStreamed(target, tensors, weights.Metadata);
    }

    private static Dictionary<string, byte[]> Bytes(string adapter)
    {
        using var weights = SafetensorsFile.Open(Path.Combine(adapter, "adapter_model.safetensors"));
        return weights.Tensors.ToDictionary(t => t.Name, t => weights.ReadBytes(t.Name));
    }

    private JobImportResult Import(string job, string output = "imported", string? adapterPath = null, bool allow = false, bool force = false) =>
        JobImport.Run(new JobImportRequest(job, Path.Combine(_dir, output)) { AdapterPath = adapterPath, AllowConfigDifference = allow, Overwrite = force });

    private T Refused<T>(string job, string output = "imported", string? adapterPath = null) where T : Exception
    {
        var e = Assert.Throws<T>(() => Import(job, output, adapterPath));
        Assert.False(Directory.Exists(Path.Combine(_dir, output)), "nothing is written on a refusal");
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir, $".{output}.*"));
        return e;
    }

    private static void PassesAcceptanceAndMerges(string adapter, string dir)
    {
        var checks = AdapterAcceptance.Run(new AdapterTestRequest(adapter, Examples.Llama3));
        Assert.All(checks, c => Assert.True(c.Passed, c.ToString()));
        var merged = AdapterMerge.Run(new AdapterMergeRequest(Examples.Llama3, [adapter], Path.Combine(dir, "merged-" + Path.GetFileName(adapter))));
        Assert.NotEmpty(merged.Changes.Cast<object>().Concat(merged.Tensors));
    }

    [Fact]
    public void A_peft_runs_adapter_imports_byte_for_byte_passes_TestTokenAdapter_and_merges()
    {
        var job = Job("plain", _trained.Tokens);
        var result = Import(job);

        var output = Path.Combine(_dir, "imported");
        Assert.Equal(output, result.Path);
        Assert.Equal(Path.Combine(job, "output"), result.AdapterSource);
        Assert.Empty(result.Repairs);
        Assert.Empty(result.ConfigDifferences); // peft_version 0.21.0 against the engine's: ignored
        var summary = Assert.IsType<AdapterSummary>(result.Adapter);
        Assert.Equal(new long[] { 10002, 10003 }, summary.TokenIndices);
        Assert.Equal(output, summary.Path);
        // The config as the job wrote it, the tensors' bytes unchanged, and the marker that lets -Force replace it.
        Assert.Equal(File.ReadAllBytes(Path.Combine(job, "output", "adapter_config.json")), File.ReadAllBytes(Path.Combine(output, "adapter_config.json")));
        Assert.Equal(Bytes(_trained.Tokens), Bytes(output));
        Assert.Equal(JobImport.Writer, AtomicFolder.WriterOf(output));
        PassesAcceptanceAndMerges(output, _dir);
    }

    [Theory]
    [InlineData("fsdp", "base_model.model._fsdp_wrapped_module.model.embed_tokens._fsdp_wrapped_module.trainable_tokens_delta")]
    [InlineData("checkpointed", "base_model.model.model._checkpoint_wrapped_module.embed_tokens.trainable_tokens_delta")]
    [InlineData("compiled", "_orig_mod.base_model.model.model.embed_tokens.trainable_tokens_delta")]
    [InlineData("ddp", "module.base_model.model.model.embed_tokens.trainable_tokens_delta")]
    public void Wrapper_segments_in_tensor_names_are_removed_and_reported_as_repairs(string name, string wrapped)
    {
        var job = Job(name, _trained.Tokens, rename: n => n == Embedding ? wrapped : n);
        var result = Import(job, name);

        var repair = Assert.Single(result.Repairs);
        Assert.Equal(wrapped, repair.From);
        Assert.Equal(Embedding, repair.To);
        Assert.Equal(Bytes(_trained.Tokens), Bytes(Path.Combine(_dir, name)));
        PassesAcceptanceAndMerges(Path.Combine(_dir, name), _dir);
    }

    [Fact]
    public void A_lora_with_token_rows_adapter_saved_under_fsdp_imports_repaired_and_merges()
    {
        var job = Job("lora", _trained.Lora, rename: n => n.Replace("base_model.model.model.", "base_model.model._fsdp_wrapped_module.model.", StringComparison.Ordinal));
        var result = Import(job, "lora");

        var summary = Assert.IsType<LoraAdapterSummary>(result.Adapter);
        Assert.Equal(new long[] { 10002, 10003 }, summary.TokenIndices);
        Assert.Equal(Bytes(_trained.Lora).Count, result.Repairs.Count);
        Assert.Equal(Bytes(_trained.Lora), Bytes(Path.Combine(_dir, "lora")));
        PassesAcceptanceAndMerges(Path.Combine(_dir, "lora"), _dir);
    }

    [Fact]
    public void Only_wrapper_segments_are_removed_and_a_module_named_module_further_in_is_kept()
    {
        Assert.Null(TensorNameRepair.Repair("base_model.model.model.module.embed_tokens.trainable_tokens_delta"));
        Assert.Null(TensorNameRepair.Repair("base_model.model.model._orig_module.lora_A.weight"));
        Assert.Equal("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
            TensorNameRepair.Repair("module._orig_mod.base_model.model.model.layers.0._fsdp_wrapped_module._checkpoint_wrapped_module.self_attn.q_proj.lora_A.weight")!.To);
    }

    [Fact]
    public void Keys_with_the_adapter_name_appended_are_accepted_as_they_are()
    {
        var job = Job("named", _trained.Tokens, rename: n => n + ".default");
        var result = Import(job, "named");
        Assert.Empty(result.Repairs);
        PassesAcceptanceAndMerges(Path.Combine(_dir, "named"), _dir);
    }

    [Fact]
    public void Two_names_that_become_one_after_repair_are_refused_naming_both()
    {
        var job = Job("twice", _trained.Tokens);
        var file = Path.Combine(job, "output", "adapter_model.safetensors");
        Rewrite(Path.Combine(_trained.Tokens, "adapter_model.safetensors"), file, n => n);
        using (var scope = NewDisposeScope())
        {
            using var weights = SafetensorsFile.Open(Path.Combine(_trained.Tokens, "adapter_model.safetensors"));
            var rows = weights.Load(Embedding);
            SafetensorsWriter.Write(file, [new(Embedding, rows), new("module." + Embedding, rows.clone())], new Dictionary<string, string> { ["format"] = "pt" });
        }
        var e = Refused<InvalidJobException>(job);
        Assert.Equal(InvalidJobException.AmbiguousTensorName, e.ErrorId);
        Assert.Contains("module." + Embedding, e.Message);
    }

    [Theory]
    [InlineData("empty")]
    [InlineData("flat")]
    [InlineData("slice")]
    public void Zero3_partitioned_token_rows_are_refused_naming_the_tensor_and_the_gather_setting(string kind)
    {
        var job = Job("zero3-" + kind, _trained.Tokens, writeWeights: false);
        Rewrite(Path.Combine(_trained.Tokens, "adapter_model.safetensors"), Path.Combine(job, "output", "adapter_model.safetensors"), n => n,
            t => t.Name != Embedding ? null : kind switch
            {
                "empty" => zeros(new long[] { 0 }, ScalarType.Float32),
                "flat" => zeros(new long[] { 32 }, ScalarType.Float32),
                _ => zeros(new long[] { 1, 32 }, ScalarType.Float32),
            });
        var e = Refused<InvalidJobException>(job);
        Assert.Equal(InvalidJobException.PartitionedTensor, e.ErrorId);
        Assert.Contains($"'{Embedding}'", e.Message);
        Assert.Contains("stage3_gather_16bit_weights_on_model_save", e.Message);
        Assert.Contains("#2946", e.Message);
    }

    [Fact]
    public void Zero3_empty_lora_token_adapter_rows_an_empty_lora_matrix_and_missing_rows_are_refused()
    {
        var rowsKey = LoraAdapterFolder.KeyTokens("model.embed_tokens");
        var job = Job("zero3-lora", _trained.Lora, writeWeights: false);
        Rewrite(Path.Combine(_trained.Lora, "adapter_model.safetensors"), Path.Combine(job, "output", "adapter_model.safetensors"), n => n,
            t => t.Name == rowsKey ? zeros(new long[] { 0 }, ScalarType.Float32) : null);
        var e = Refused<InvalidJobException>(job);
        Assert.Equal(InvalidJobException.PartitionedTensor, e.ErrorId);
        Assert.Contains(rowsKey, e.Message);

        var pairKey = LoraAdapterFolder.KeyA("model.layers.0.self_attn.q_proj");
        var pair = Job("zero3-lora-pair", _trained.Lora, writeWeights: false);
        Rewrite(Path.Combine(_trained.Lora, "adapter_model.safetensors"), Path.Combine(pair, "output", "adapter_model.safetensors"), n => n,
            t => t.Name == pairKey ? zeros(new long[] { 0 }, ScalarType.Float32) : null);
        var pairError = Refused<InvalidJobException>(pair);
        Assert.Equal(InvalidJobException.PartitionedTensor, pairError.ErrorId);
        Assert.Contains(pairKey, pairError.Message);

        var missing = Job("zero3-lora-missing", _trained.Lora, rename: n => n == rowsKey ? null : n);
        var e2 = Refused<InvalidJobException>(missing);
        Assert.Equal(InvalidJobException.PartitionedTensor, e2.ErrorId);
        Assert.Contains("token_adapter", e2.Message);
    }

    [Fact]
    public void A_changed_token_indices_is_refused_as_a_config_difference_unless_allowed()
    {
        var job = Job("changed", _trained.Tokens, editConfig: c => c["token_indices"] = new JsonArray(10002, 10004));
        var e = Refused<InvalidJobException>(job);
        Assert.Equal(InvalidJobException.ConfigDifference, e.ErrorId);
        Assert.Contains("token_indices", e.Message);

        var result = Import(job, allow: true);
        var difference = Assert.Single(result.ConfigDifferences);
        Assert.Equal(new ConfigDifference("token_indices", "[10002,10003]", "[10002,10004]"), difference);
    }

    [Fact]
    public void A_moved_base_model_is_reported_but_allowed()
    {
        var job = Job("moved", _trained.Tokens, editConfig: c => c["base_model_name_or_path"] = "/cluster/models/tiny-llama3");
        var result = Import(job, "moved");
        var difference = Assert.Single(result.ConfigDifferences);
        Assert.Equal("base_model_name_or_path", difference.Key);
        Assert.Equal("\"/cluster/models/tiny-llama3\"", difference.Actual);
    }

    [Fact]
    public void Target_modules_in_another_order_and_numbers_written_differently_are_no_difference()
    {
        var expected = JsonNode.Parse("""{"target_modules": ["q_proj", "v_proj"], "lora_alpha": 8, "r": 4, "peft_version": "0.18.0"}""")!.AsObject();
        var actual = JsonNode.Parse("""{"target_modules": ["v_proj", "q_proj"], "lora_alpha": 8.0, "r": 4, "peft_version": "0.21.0"}""")!.AsObject();
        Assert.Empty(AdapterConfigComparison.Compare(expected, actual));
        var other = JsonNode.Parse("""{"target_modules": ["v_proj", "q_proj"], "lora_alpha": 16, "r": 4, "extra": null}""")!.AsObject();
        Assert.Equal(new[] { new ConfigDifference("extra", null, "null"), new ConfigDifference("lora_alpha", "8", "16") }, AdapterConfigComparison.Compare(expected, other));
    }

    [Fact]
    public void Keys_peft_writes_for_settings_left_unset_are_no_difference_but_set_ones_are()
    {
        var expected = JsonNode.Parse("""{"peft_type": "LORA", "r": 4}""")!.AsObject();
        var peft = JsonNode.Parse("""{"peft_type": "LORA", "r": 4, "use_dora": false, "megatron_core": "megatron.core", "loftq_config": {}, "qalora_group_size": 16, "auto_mapping": null}""")!.AsObject();
        Assert.Empty(AdapterConfigComparison.Compare(expected, peft));
        var dora = JsonNode.Parse("""{"peft_type": "LORA", "r": 4, "use_dora": true, "brand_new": null}""")!.AsObject();
        Assert.Equal(new[] { new ConfigDifference("brand_new", null, "null"), new ConfigDifference("use_dora", null, "true") }, AdapterConfigComparison.Compare(expected, dora));
    }

    [Fact]
    public void A_pickle_only_folder_is_refused_saying_to_save_with_safetensors()
    {
        foreach (var pickle in new[] { "adapter_model.bin", "pytorch_model.bin" })
        {
            var job = Job("pickle-" + pickle, _trained.Tokens, writeWeights: false);
            File.WriteAllBytes(Path.Combine(job, "output", pickle), [0x80, 2]);
            var e = Refused<InvalidJobException>(job);
            Assert.Equal(InvalidJobException.AdapterNotSafetensors, e.ErrorId);
            Assert.Contains(pickle, e.Message);
            Assert.Contains("safe_serialization=True", e.Message);
        }
    }

    [Fact]
    public void A_checkpoint_folder_imports_with_AdapterPath_and_an_unfinished_run_names_its_checkpoints()
    {
        var job = Job("ckpt", _trained.Tokens, output: "output/checkpoint-2");
        var e = Refused<InvalidJobException>(job);
        Assert.Equal(InvalidJobException.AdapterNotFound, e.ErrorId);
        Assert.Contains("checkpoint-2", e.Message);

        // The finished run's record describes its final adapter, not this checkpoint: it is not reported for it.
        File.WriteAllText(Path.Combine(job, "output", "job-result.json"), """{"versions": {"peft": "0.21.0"}, "global_step": 4, "train_loss": 1.25}""");
        var result = Import(job, adapterPath: Path.Combine(job, "output", "checkpoint-2"));
        Assert.Equal(Path.Combine(job, "output", "checkpoint-2"), result.AdapterSource);
        Assert.Null(result.JobResult);
        PassesAcceptanceAndMerges(result.Path, _dir);
    }

    [Fact]
    public void The_runs_job_result_json_values_are_reported_and_a_malformed_one_is_refused()
    {
        var job = Job("result", _trained.Tokens);
        File.WriteAllText(Path.Combine(job, "output", "job-result.json"), """{"versions": {"peft": "0.21.0", "deepspeed": null}, "global_step": 2, "train_loss": 1.25, "log_history": []}""");
        var result = Import(job, "result");
        Assert.Equal(2, result.GlobalStep);
        Assert.Equal(1.25, result.TrainLoss);
        Assert.Equal("0.21.0", result.Versions!["peft"]);
        Assert.Null(result.Versions["deepspeed"]);

        File.WriteAllText(Path.Combine(job, "output", "job-result.json"), """{"global_step": "two"}""");
        var e = Refused<InvalidJobException>(job, "result-bad");
        Assert.Equal(InvalidJobException.InvalidJob, e.ErrorId);
        Assert.Contains("global_step", e.Message);
        Assert.Contains("job-result.json", e.Message);
    }

    [Fact]
    public void A_tied_heads_copy_that_differs_from_the_embeddings_rows_is_refused_as_merge_refuses_it()
    {
        var job = Job("head", _trained.Tokens, writeWeights: false);
        Rewrite(Path.Combine(_trained.Tokens, "adapter_model.safetensors"), Path.Combine(job, "output", "adapter_model.safetensors"), n => n,
            t => t.Name == "base_model.model.lm_head.trainable_tokens_delta" ? ones(t.Shape, ScalarType.Float32) : null);
        var e = Refused<InvalidAdapterException>(job);
        Assert.Contains("lm_head", e.Message);
        Assert.DoesNotContain("tt-import-", e.Message);
    }

    [Theory]
    [InlineData("missing", null, "has no job.json")]
    [InlineData("notjson", "{", "not valid JSON")]
    [InlineData("kind", """{"format": 1, "kind": "other", "method": "TRAINABLE_TOKENS", "adapter_config": {"peft_type": "TRAINABLE_TOKENS"}}""", "\"kind\"")]
    [InlineData("format", """{"format": 2, "kind": "trainabletokens-job", "method": "TRAINABLE_TOKENS", "adapter_config": {"peft_type": "TRAINABLE_TOKENS"}}""", "\"format\" is 2")]
    [InlineData("method", """{"format": 1, "kind": "trainabletokens-job", "method": "IA3", "adapter_config": {"peft_type": "IA3"}}""", "\"method\"")]
    [InlineData("config", """{"format": 1, "kind": "trainabletokens-job", "method": "LORA", "adapter_config": [1]}""", "\"adapter_config\"")]
    [InlineData("mismatch", """{"format": 1, "kind": "trainabletokens-job", "method": "LORA", "adapter_config": {"peft_type": "TRAINABLE_TOKENS"}}""", "adapter_config.peft_type")]
    [InlineData("model", """{"format": 1, "kind": "trainabletokens-job", "method": "LORA", "base_model": 3, "adapter_config": {"peft_type": "LORA"}}""", "\"base_model\"")]
    public void A_missing_or_malformed_job_json_is_refused_naming_the_file_and_field(string name, string? text, string expected)
    {
        var job = Path.Combine(_dir, "jobs", name);
        Directory.CreateDirectory(job);
        if (text is not null) File.WriteAllText(Path.Combine(job, "job.json"), text);
        var e = Refused<InvalidJobException>(job);
        Assert.Equal(InvalidJobException.InvalidJob, e.ErrorId);
        Assert.Contains("job.json", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void An_adapter_for_another_model_is_refused_by_the_compatibility_rules()
    {
        var other = Path.Combine(_dir, "other-model");
        TrainableTokens.Core.Models.TinyModelFactory.Create(other, new TrainableTokens.Core.Models.TinyModelSpec { ModelType = "llama", Seed = 2 });
        var job = Job("other", _trained.Tokens, editJob: j => j["base_model"] = other);
        var e = Refused<InvalidAdapterException>(job);
        Assert.Contains("does not fit the base model", e.Message);
        Assert.DoesNotContain("tt-import-", e.Message); // names the job's adapter, not the staging folder
    }

    [Fact]
    public void The_output_may_not_overlap_the_job_and_Force_replaces_only_its_own_folder()
    {
        var job = Job("guard", _trained.Tokens);
        var inside = Assert.Throws<OutputConflictException>(() => JobImport.Run(new JobImportRequest(job, Path.Combine(job, "imported"))));
        Assert.Contains("job folder", inside.Message);
        Assert.False(Directory.Exists(Path.Combine(job, "imported")));
        Assert.Throws<OutputConflictException>(() => JobImport.Run(new JobImportRequest(job, Path.Combine(job, "output"))));

        Import(job, "again");
        Assert.Equal("OutputExists", Assert.Throws<OutputConflictException>(() => Import(job, "again")).ErrorId);
        Import(job, "again", force: true);
        var mine = Path.Combine(_dir, "mine");
        Directory.CreateDirectory(mine);
        File.WriteAllText(Path.Combine(mine, "notes.txt"), "keep");
        Assert.Throws<OutputConflictException>(() => Import(job, "mine", force: true));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(mine, "notes.txt")));
    }

    [Fact]
    public void Plan_checks_everything_and_writes_nothing()
    {
        var job = Job("plan", _trained.Tokens, rename: n => n == Embedding ? "module." + n : n);
        var before = Directory.EnumerateDirectories(Path.GetTempPath(), "tt-import-*").ToHashSet();
        var plan = JobImport.Plan(new JobImportRequest(job, Path.Combine(_dir, "planned")));
        Assert.Single(plan.Repairs);
        Assert.Null(plan.Adapter);
        Assert.False(Directory.Exists(Path.Combine(_dir, "planned")));
        Assert.DoesNotContain(Directory.EnumerateDirectories(Path.GetTempPath(), "tt-import-*"), d => !before.Contains(d));
    }
}
