using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Jobs;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Training;
using TrainableTokens.Core.Tuners.TrainableTokens;
using TrainableTokens.Core.Untrained;
using static TorchSharp.torch;
using LoraSection = TrainableTokens.Core.Configuration.LoraConfig;

namespace TrainableTokens.Core.Tests.Jobs;

/// <summary>
/// Export-TokenTrainingJob's plan: the job gets the engine's own examples, order, schedule and adapter_config.json,
/// and names every setting it cannot honour. Each test holds the job against what the engine itself does.
/// </summary>
[Collection(nameof(TrainableTokens.Core.Tests.Training.LoraTrainingTests))]
public sealed class JobExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-job-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private TrainingConfig Training(string output = "adapter") => new()
    {
        BaseModel = Examples.Llama3, Dataset = Examples.QuickstartData, OutputDir = Path.Combine(_dir, output),
        LearningRate = 0.01, LrSchedulerType = "cosine", WarmupRatio = 0.1, NumTrainEpochs = 3, PerDeviceTrainBatchSize = 2,
        MaxSeqLength = 64, Seed = 42, EvalSplit = 0.25, SaveSteps = 10, LoggingSteps = 1,
    };

    private RunConfig Tokens(Func<TrainingConfig, TrainingConfig>? change = null) => new()
    {
        TrainableTokens = new TrainableTokensConfig { TokenIndices = [10002, 10003] },
        Training = change is null ? Training() : change(Training()),
    };

    private RunConfig Lora(Func<TrainingConfig, TrainingConfig>? change = null) => new()
    {
        Lora = new LoraSection { R = 4, LoraAlpha = 8, LoraDropout = 0.1, TrainableTokenIndices = System.Text.Json.JsonDocument.Parse("[10002, 10003]").RootElement },
        Training = change is null ? Training() : change(Training()),
    };

    private JobExportPlan Plan(RunConfig run, int processes = 1, int nodes = 1, JobEngine engine = JobEngine.Fsdp) =>
        JobExporter.Plan(new JobExportRequest(run, Path.Combine(_dir, "job")) { BaseDirectory = _dir, Processes = processes, Nodes = nodes, Engine = engine });

    private static TrainingResult Train(RunConfig run) => Trainer.Run(new TrainingRequest(run), null, CancellationToken.None);

    private static JsonObject Args(JobExportPlan plan) => plan.Job["training_arguments"]!.AsObject();

    [Fact]
    public void The_job_holds_the_adapter_config_start_token_training_writes_and_its_total_and_warm_up_steps()
    {
        foreach (var run in new[] { Tokens(t => t with { MaxSteps = 2 }), Lora(t => t with { MaxSteps = 2 }) })
        {
            var plan = Plan(run);
            var result = Train(run);
            var written = JsonNode.Parse(File.ReadAllText(Path.Combine(result.AdapterFolder!, "adapter_config.json")))!;
            Assert.True(JsonNode.DeepEquals(written, plan.Job["adapter_config"]), $"{written}\n!=\n{plan.Job["adapter_config"]}");
            Assert.Equal(result.TotalSteps, Args(plan)["max_steps"]!.GetValue<int>());
            Directory.Delete(result.AdapterFolder!, recursive: true);
        }
        // Unset targets are saved as PEFT saves them: the embedding's path for tokens, q_proj/v_proj for LoRA.
        Assert.Equal("model.embed_tokens", Plan(Tokens()).Job["adapter_config"]!["target_modules"]!.GetValue<string>());
        Assert.Equal(["q_proj", "v_proj"], Plan(Lora()).Job["adapter_config"]!["target_modules"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.True(Plan(Tokens()).Job["adapter_config"]!["inference_mode"]!.GetValue<bool>());
    }

    [Fact]
    public void The_schedule_is_resolved_as_the_engine_resolves_it()
    {
        var plan = Plan(Tokens());
        var engine = StepPlan.For(plan.Run.Training, plan.TrainExamples);
        var args = Args(plan);
        Assert.Equal(engine.TotalSteps, args["max_steps"]!.GetValue<int>());
        Assert.Equal((int)Math.Ceiling(engine.TotalSteps * 0.1), args["warmup_steps"]!.GetValue<int>());
        Assert.Equal("cosine", args["lr_scheduler_type"]!.GetValue<string>());
        Assert.Equal("epoch", args["eval_strategy"]!.GetValue<string>());
        Assert.Equal(2, args["per_device_train_batch_size"]!.GetValue<int>());
        Assert.True(plan.Job["evaluate_before_training"]!.GetValue<bool>());
        Assert.Equal(plan.Run.Data.PadTokenId, plan.Job["data"]!["pad_token_id"]!.GetValue<int>());
        // A perplexity metric ranks checkpoints as eval_loss does, which Trainer has.
        var best = Plan(Tokens(t => t with { EvalStrategy = "steps", EvalSteps = 2, SaveSteps = 2, LoadBestModelAtEnd = true, MetricForBestModel = "perplexity", GreaterIsBetter = false }));
        Assert.Equal("eval_loss", Args(best)["metric_for_best_model"]!.GetValue<string>());
        Assert.False(Args(best)["greater_is_better"]!.GetValue<bool>());
    }

    [Fact]
    public void Each_process_count_keeps_the_engines_step_when_it_divides_the_batch_or_the_accumulation_and_says_when_not()
    {
        var accumulated = Plan(Tokens(t => t with { GradientAccumulationSteps = 4, PerDeviceTrainBatchSize = 3 }), processes: 2, nodes: 2);
        Assert.Equal((3, 1), (Args(accumulated)["per_device_train_batch_size"]!.GetValue<int>(), Args(accumulated)["gradient_accumulation_steps"]!.GetValue<int>()));
        Assert.True(accumulated.Batching.Exact);
        var split = Plan(Tokens(t => t with { PerDeviceTrainBatchSize = 4 }), processes: 2);
        Assert.Equal((2, 1), (Args(split)["per_device_train_batch_size"]!.GetValue<int>(), Args(split)["gradient_accumulation_steps"]!.GetValue<int>()));
        var neither = Plan(Tokens(t => t with { PerDeviceTrainBatchSize = 3 }), processes: 2);
        Assert.False(neither.Batching.Exact);
        Assert.Contains(neither.Warnings, w => w.Setting == "training.gradient_accumulation_steps" && w.Message.Contains("6 examples instead of the engine's 3"));
        // Two processes of 3 take one step where the engine takes two: the job runs 3 epochs of half as many steps.
        var batches = (neither.TrainExamples + 2) / 3;
        Assert.Equal(3 * ((batches + 1) / 2), neither.Batching.Plan.TotalSteps);
    }

    [Fact]
    public void Settings_python_cannot_honour_are_named_and_the_rest_are_not()
    {
        var lora = Plan(Lora(t => t with { ResumeFromCheckpoint = "latest" }));
        Assert.Equal(["lora.init_lora_weights", "lora.lora_dropout", "training.eval_strategy", "training.resume_from_checkpoint"],
            lora.Warnings.Select(w => w.Setting).Order(StringComparer.Ordinal));
        Assert.Equal(lora.Warnings.Count, lora.Job["warnings"]!.AsArray().Count);
        var tokens = Plan(Tokens(t => t with { EvalSplit = 0 }));
        Assert.Empty(tokens.Warnings);
        Assert.Equal("no", Args(tokens)["eval_strategy"]!.GetValue<string>());
        Assert.Null(tokens.Job["data"]!["eval"]);
        Assert.Contains(Plan(Tokens(t => t with { EvalSplit = 0 }) with { TrainableTokens = new TrainableTokensConfig { TokenIndices = [5], InitWeights = false } }).Warnings,
            w => w.Setting == "trainable_tokens.init_weights");
    }

    [Fact]
    public void The_job_trains_on_the_engines_examples_in_the_engines_order_every_epoch()
    {
        var plan = Plan(Tokens());
        var folder = Path.Combine(_dir, "data-out");
        Directory.CreateDirectory(folder);
        JobData.Write(folder, plan.Run, plan.Batching.Plan.Epochs);
        var lines = File.ReadAllLines(Path.Combine(folder, JobLayout.TrainData)).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(plan.Run.Data.Train.Count, lines.Count);
        for (var i = 0; i < lines.Count; i++)
        {
            Assert.Equal(plan.Run.Data.Train[i].InputIds, lines[i]!["input_ids"]!.AsArray().Select(n => n!.GetValue<int>()));
            Assert.Equal(plan.Run.Data.Train[i].Labels, lines[i]!["labels"]!.AsArray().Select(n => n!.GetValue<int>()));
        }
        Assert.Equal(plan.Run.Data.Eval.Count, File.ReadAllLines(Path.Combine(folder, JobLayout.EvalData)).Length);
        var epochs = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, JobLayout.TrainOrder)))!["epochs"]!.AsArray();
        Assert.Equal(3, epochs.Count);
        var batch = plan.Run.Training.PerDeviceTrainBatchSize;
        for (var e = 0; e < epochs.Count; e++)
        {
            var order = epochs[e]!.AsArray().Select(n => n!.GetValue<int>()).ToList();
            var engine = plan.Run.Data.TrainBatches(batch, plan.Run.Training.Seed + e, CPU).ToList();
            Assert.Equal(engine.Count, (order.Count + batch - 1) / batch);
            for (var b = 0; b < engine.Count; b++)
            {
                using var ids = engine[b].InputIds;
                var expected = order.Skip(b * batch).Take(batch).Select(i => plan.Run.Data.Train[i].InputIds[0]).ToArray();
                Assert.Equal(expected.Select(x => (long)x), ids.select(1, 0).data<long>().ToArray());
                engine[b].Dispose();
            }
        }
    }

    [Fact]
    public void Untrained_rows_start_in_the_job_where_they_start_in_the_engine()
    {
        // A copy of the tiny model whose rows 10002 and 10003 are zero (untrained): the engine starts them from the mean.
        var model = Path.Combine(_dir, "model");
        Directory.CreateDirectory(model);
        foreach (var file in Directory.GetFiles(Examples.Llama3)) File.Copy(file, Path.Combine(model, Path.GetFileName(file)));
        ZeroRows(model, "model.embed_tokens.weight", [10002, 10003]);
        var run = Tokens(t => t with { BaseModel = model });
        var plan = Plan(run);
        Assert.True(plan.InitialRows);
        var rows = JobInitialRows.Compute(plan.Run)!;
        var (key, values) = Assert.Single(rows);
        Assert.Equal("base_model.model.model.embed_tokens.trainable_tokens_delta", key);

        using var loadedModel = ModelLoader.Load(model, ScalarType.Float32, CPU);
        using var tuner = new TrainableTokensModel(loadedModel);
        tuner.AddAdapter("default", plan.Run.Adapter!);
        var init = UntrainedRowInit.FromMean(tuner, "default");
        Assert.Equal([10002L, 10003L], UntrainedRowInit.TokenIds(init));
        var engine = tuner.Layers.Values.Single(l => l.Adapters.ContainsKey("default")).Adapters["default"].Values;
        Assert.True(engine.to(ScalarType.Float32).eq(values).all().item<bool>(), "the job's starting rows differ from the engine's");
        values.Dispose();
        // Rows the model has trained start as PEFT starts them, copies: the job needs no file for them.
        Assert.False(Plan(Tokens() with { TrainableTokens = new TrainableTokensConfig { TokenIndices = [5, 6] } }).InitialRows);
    }

    [Fact]
    public void A_job_folder_that_overlaps_an_input_or_a_run_with_errors_is_refused_before_anything_is_written()
    {
        var inside = Assert.Throws<OutputConflictException>(() =>
            JobExporter.Plan(new JobExportRequest(Tokens(), Path.Combine(Examples.Llama3, "job")) { BaseDirectory = _dir }));
        Assert.Contains("base model folder", inside.Message);
        var bad = Assert.Throws<InvalidConfigException>(() => Plan(Tokens() with { TrainableTokens = new TrainableTokensConfig { TokenIndices = [999_999] } }));
        Assert.Contains("trainable_tokens.token_indices", bad.Message);
        Assert.False(Directory.Exists(Path.Combine(_dir, "job")));
        // The job trains elsewhere: this machine's device and memory are not its limits.
        Assert.Equal(JobEngine.Fsdp, Plan(Tokens(t => t with { Device = "cuda:3" })).Request.Engine);
    }

    [Fact]
    public void An_exported_job_whose_adapter_peft_saves_as_the_engine_would_comes_back_through_import_and_merges()
    {
        // No PEFT here: the same run trained by the engine stands in for the job's output, saved as PEFT 0.21 saves it
        // (its own peft_version, LoRA's unset keys written out). The device checks run the real job (tests/device).
        foreach (var (name, run) in new[] { ("tt", Tokens(t => t with { MaxSteps = 2 })), ("lora", Lora(t => t with { MaxSteps = 2 })) })
        {
            var job = Path.Combine(_dir, "job-" + name);
            var result = JobExporter.Write(JobExporter.Plan(new JobExportRequest(run, job) { BaseDirectory = _dir }));
            Assert.Contains(JobLayout.TrainScript, result.Files);
            var trained = Train(run with { Training = run.Training! with { OutputDir = Path.Combine(_dir, "engine-" + name) } });
            var output = Path.Combine(job, JobLayout.OutputFolder);
            Directory.CreateDirectory(output);
            File.Copy(Path.Combine(trained.AdapterFolder!, "adapter_model.safetensors"), Path.Combine(output, "adapter_model.safetensors"));
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(trained.AdapterFolder!, "adapter_config.json")))!.AsObject();
            config["peft_version"] = "0.21.0";
            if (name == "lora") { config["use_dora"] = false; config["loftq_config"] = new JsonObject(); }
            File.WriteAllText(Path.Combine(output, "adapter_config.json"), config.ToJsonString());

            var imported = JobImport.Run(new JobImportRequest(job, Path.Combine(_dir, "imported-" + name)));
            Assert.Empty(imported.ConfigDifferences);
            Assert.Empty(imported.Repairs);
            Assert.Empty(AdapterCompatibility.Problems(imported.Path, Path.GetFullPath(Examples.Llama3), ModelConfigReader.ReadFolder(Examples.Llama3)));
            var merged = Core.Merging.AdapterMerge.Run(new Core.Merging.AdapterMergeRequest(Path.GetFullPath(Examples.Llama3), [imported.Path], Path.Combine(_dir, "merged-" + name)));
            Assert.True(Directory.Exists(merged.OutputPath));
        }
    }

    private static void ZeroRows(string folder, string name, long[] rows)
    {
        var path = Path.Combine(folder, "model.safetensors");
        var tensors = new List<KeyValuePair<string, Tensor>>();
        using (var file = Core.IO.SafetensorsFile.Open(path))
        {
            foreach (var info in file.Tensors)
            {
                var t = file.Load(info.Name);
                if (info.Name == name) t.index_fill_(0, tensor(rows, ScalarType.Int64, CPU), 0);
                tensors.Add(new(info.Name, t));
            }
        }
        Core.IO.SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
        foreach (var (_, t) in tensors) t.Dispose();
    }
}
