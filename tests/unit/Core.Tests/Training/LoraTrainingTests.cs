using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Training;
using TrainableTokens.Core.Tuners.Lora;
using static TorchSharp.torch;
using LoraSection = TrainableTokens.Core.Configuration.LoraConfig;

namespace TrainableTokens.Core.Tests.Training;

/// <summary>A LoRA run through the same trainer as Trainable Tokens: checkpoints, exact resume, evaluation, metrics,
/// the best checkpoint and early stopping, on the tiny Llama 3 model and the quickstart data.</summary>
/// <remarks>Alone, not beside other tests: LoRA dropout draws from torch's process-wide RNG (which checkpoints save and
/// restore), so a test drawing random numbers on another thread at the same time would change what these runs draw.</remarks>
[Collection(nameof(LoraTrainingTests))]
public sealed class LoraTrainingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-lora-train-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Timings = ["tokens_per_second", "elapsed_seconds"];

    private static LoraSection Lora(double dropout = 0.1) => new()
    {
        R = 4, LoraAlpha = 8, LoraDropout = dropout, TargetModules = StringOrList.FromList(["q_proj", "v_proj", "down_proj"]),
    };

    /// <summary>As the Trainable Tokens resume test: 3 batches of 1 per epoch, 2 steps per epoch with accumulation 2.</summary>
    private RunConfig Run(string output, Func<TrainingConfig, TrainingConfig>? change = null, LoraSection? lora = null)
    {
        var train = new TrainingConfig
        {
            BaseModel = Examples.Llama3, Dataset = Examples.QuickstartData, OutputDir = Path.Combine(_dir, output),
            LearningRate = 0.01, LrSchedulerType = "cosine", WarmupSteps = 1, MaxSteps = 8, PerDeviceTrainBatchSize = 1,
            GradientAccumulationSteps = 2, MaxSeqLength = 64, SaveSteps = 3, LoggingSteps = 2, Seed = 7,
            EvalSplit = 0.25, EvalStrategy = "steps", EvalSteps = 3, LoadBestModelAtEnd = true, SaveTotalLimit = 1,
        };
        return new RunConfig { Lora = lora ?? Lora(), Training = change is null ? train : change(train) };
    }

    private static TrainingResult Train(RunConfig run, int? cancelAt = null)
    {
        using var cancel = new CancellationTokenSource();
        return Trainer.Run(new TrainingRequest(run), new SyncProgress(p => { if (p.Step == cancelAt) cancel.Cancel(); }), cancel.Token);
    }

    private static List<JsonObject> MetricsLines(string outputDir) =>
        File.ReadAllLines(Path.Combine(outputDir, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();

    private static string WithoutTimings(JsonObject line)
    {
        var copy = line.DeepClone().AsObject();
        foreach (var key in Timings) copy.Remove(key);
        return copy.ToJsonString();
    }

    private static string StateWithoutTimings(string checkpoint)
    {
        var state = JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "trainer_state.json")))!.AsObject();
        foreach (var key in new[] { "elapsed_seconds", "logging_interval" }) state.Remove(key);
        foreach (var entry in state["log_history"]!.AsArray()) foreach (var key in Timings) entry!.AsObject().Remove(key);
        state.Remove("best_model_checkpoint");
        return state.ToJsonString();
    }

    [Fact]
    public void A_lora_run_writes_a_peft_lora_adapter_with_metrics_and_a_loss_curve_and_only_its_pairs_change()
    {
        var result = Train(Run("lora", t => t with { LoadBestModelAtEnd = false, SaveTotalLimit = null }));
        var output = Path.Combine(_dir, "lora");
        Assert.False(result.Cancelled);
        Assert.Equal(8, result.Steps);
        Assert.NotNull(result.EvalLossBefore);
        Assert.True(result.EvalLoss < result.EvalLossBefore, $"eval loss {result.EvalLossBefore} -> {result.EvalLoss}");
        Assert.True(File.Exists(Path.Combine(output, "metrics.jsonl")));
        Assert.True(File.Exists(Path.Combine(output, "loss_curve.svg")));
        Assert.Equal(new[] { "checkpoint-3", "checkpoint-6", "checkpoint-8" }, result.Checkpoints.Select(Path.GetFileName));
        Assert.Empty(result.TokenIndices);

        // PEFT's format: peft_type LORA with the run file's settings, and one A/B pair per targeted projection.
        var config = LoraAdapterFolder.ReadConfig(output);
        Assert.Equal(4, config.R);
        Assert.Equal(0.1, config.LoraDropout);
        Assert.Equal(new[] { "q_proj", "v_proj", "down_proj" }, config.TargetModules!.Names);
        Assert.Equal(Path.GetFullPath(Examples.Llama3), config.BaseModelNameOrPath);
        using (var weights = SafetensorsFile.Open(Path.Combine(output, "adapter_model.safetensors")))
        {
            var names = weights.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(12, names.Count);
            Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", names);
            Assert.Contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight", names);
        }
        // A checkpoint holds the adapter beside its trainer state, and says which method it trained.
        var checkpoint = Path.Combine(output, "checkpoint-8");
        Assert.Equal(new[] { "adapter_config.json", "adapter_model.safetensors", "optimizer.safetensors", "rng_state.safetensors", "trainer_state.json" },
            Directory.GetFileSystemEntries(checkpoint).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("LORA", JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "trainer_state.json")))!["peft_type"]!.GetValue<string>());
        Assert.Equal(File.ReadAllBytes(Path.Combine(checkpoint, "adapter_model.safetensors")), File.ReadAllBytes(Path.Combine(output, "adapter_model.safetensors")));

        // Loaded back, the adapter changes the model's output; disabled, the model is the base model exactly: the pairs are all that was trained.
        using var model = ModelLoader.Load(Examples.Llama3, ScalarType.Float32, CPU);
        var ids = tensor(new long[] { 1, 5, 9, 200, 17 }).unsqueeze(0);
        using var baseLogits = model.Forward(ids).Logits.detach().clone();
        using var tuner = new LoraModel(model);
        LoraAdapterFolder.Load(tuner, output, "default");
        Assert.Equal(2L * (4 * 32 + 32 * 4 + 4 * 32 + 16 * 4 + 4 * 64 + 32 * 4), tuner.TrainableParameterCount("default"));
        Assert.False(model.Forward(ids).Logits.eq(baseLogits).all().item<bool>());
        tuner.DisableAdapters();
        Assert.True(model.Forward(ids).Logits.eq(baseLogits).all().item<bool>());
    }

    [Fact]
    public void Resuming_a_lora_run_with_dropout_mid_epoch_gives_the_uninterrupted_adapter_history_and_best_checkpoint()
    {
        var whole = Train(Run("whole"));

        // Checkpoint-3 lies inside epoch 1 and inside a logging interval; dropout draws from the RNG the checkpoint restores.
        var first = Train(Run("parts"), cancelAt: 4);
        Assert.True(first.Cancelled);
        var second = Train(Run("parts", t => t with { ResumeFromCheckpoint = "latest" }), cancelAt: 7);
        Assert.True(second.Cancelled);
        var resumed = Train(Run("parts", t => t with { ResumeFromCheckpoint = "latest" }));

        Assert.False(resumed.Cancelled);
        Assert.Equal(whole.Steps, resumed.Steps);
        var wholeDir = Path.Combine(_dir, "whole");
        var partsDir = Path.Combine(_dir, "parts");
        Assert.Equal(File.ReadAllBytes(Path.Combine(wholeDir, "adapter_model.safetensors")), File.ReadAllBytes(Path.Combine(partsDir, "adapter_model.safetensors")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(wholeDir, "adapter_config.json")), File.ReadAllBytes(Path.Combine(partsDir, "adapter_config.json")));
        Assert.Equal(MetricsLines(wholeDir).Select(WithoutTimings), MetricsLines(partsDir).Select(WithoutTimings));
        Assert.Equal(whole.LossHistory.Select(e => e with { TokensPerSecond = null, ElapsedSeconds = 0 }),
            resumed.LossHistory.Select(e => e with { TokensPerSecond = null, ElapsedSeconds = 0 }));
        Assert.Equal(whole.EvalLossBefore, resumed.EvalLossBefore);
        Assert.Equal(whole.EvalLoss, resumed.EvalLoss);
        Assert.Equal(whole.BestEvalLoss, resumed.BestEvalLoss);
        Assert.Equal(whole.FinalLoss, resumed.FinalLoss);
        Assert.Equal(Path.GetFileName(whole.BestCheckpoint), Path.GetFileName(resumed.BestCheckpoint));
        Assert.Equal(whole.Checkpoints.Select(Path.GetFileName), resumed.Checkpoints.Select(Path.GetFileName));
        Assert.Equal(StateWithoutTimings(Path.Combine(wholeDir, "checkpoint-8")), StateWithoutTimings(Path.Combine(partsDir, "checkpoint-8")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(wholeDir, "checkpoint-8", "optimizer.safetensors")), File.ReadAllBytes(Path.Combine(partsDir, "checkpoint-8", "optimizer.safetensors")));
    }

    [Fact]
    public void Dropout_is_on_while_training_and_off_for_evaluation()
    {
        // Dropout changes what is trained (the adapters differ), but never what is evaluated: the last step's eval loss is the
        // saved adapter's loss with dropout off, so evaluating that adapter again gives the same figure.
        var noisy = Train(Run("noisy", t => t with { LoadBestModelAtEnd = false, MaxSteps = 3 }, Lora(dropout: 0.5)));
        var plain = Train(Run("plain", t => t with { LoadBestModelAtEnd = false, MaxSteps = 3 }, Lora(dropout: 0)));
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(_dir, "noisy", "adapter_model.safetensors")), File.ReadAllBytes(Path.Combine(_dir, "plain", "adapter_model.safetensors")));
        Assert.Equal(plain.EvalLossBefore, noisy.EvalLossBefore);

        Assert.Equal(noisy.EvalLoss, EvalLossOf(Path.Combine(_dir, "noisy"), Run("noisy", t => t with { OverwriteOutputDir = true }, Lora(dropout: 0.5))));
    }

    /// <summary>The eval loss of the adapter in <paramref name="folder"/> on <paramref name="run"/>'s evaluation data, as the trainer computes it.</summary>
    private static double EvalLossOf(string folder, RunConfig run)
    {
        var prepared = Core.Preflight.RunPreflight.Check(new Core.Preflight.PreflightRequest(run) { ForTraining = true }).Run!;
        using var model = ModelLoader.Load(prepared.ModelFolder, ScalarType.Float32, CPU);
        using var tuner = new LoraModel(model);
        LoraAdapterFolder.Load(tuner, folder, "default");
        var (total, labelled) = EvaluationLoss.Over(model, prepared.Data.EvalBatches(prepared.Training.PerDeviceEvalBatchSize, CPU));
        return total / labelled;
    }

    [Fact]
    public void Early_stopping_and_load_best_model_at_end_work_for_lora()
    {
        var result = Train(Run("early", t => t with { MetricForBestModel = "eval_loss", GreaterIsBetter = true, EarlyStoppingPatience = 1, MaxSteps = 30 }));
        Assert.True(result.EarlyStopped);
        var output = Path.Combine(_dir, "early");
        Assert.Equal(File.ReadAllBytes(Path.Combine(output, "checkpoint-3", "adapter_model.safetensors")), File.ReadAllBytes(Path.Combine(output, "adapter_model.safetensors")));
        Assert.Equal(4, LoraAdapterFolder.ReadConfig(output).R);
    }

    [Fact]
    public void A_lora_checkpoint_is_refused_by_a_trainable_tokens_run_and_by_other_lora_settings()
    {
        Train(Run("run", t => t with { LoadBestModelAtEnd = false, MaxSteps = 3 }));
        var tokens = new RunConfig
        {
            TrainableTokens = new TrainableTokensConfig { TokenIndices = new[] { 10002 } },
            Training = Run("run", t => t with { LoadBestModelAtEnd = false, MaxSteps = 4, ResumeFromCheckpoint = "latest" }).Training,
        };
        var method = Refused(() => Train(tokens));
        Assert.Equal("training.resume_from_checkpoint", method.Field);
        Assert.Contains("LORA adapter, but this run trains TRAINABLE_TOKENS", method.Message);

        var otherRank = Refused(() => Train(Run("run", t => t with { LoadBestModelAtEnd = false, MaxSteps = 4, ResumeFromCheckpoint = "latest" }, Lora() with { R = 8 })));
        Assert.Contains("LoRA settings", otherRank.Message);

        // The same settings continue.
        Assert.Equal(4, Train(Run("run", t => t with { LoadBestModelAtEnd = false, MaxSteps = 4, ResumeFromCheckpoint = "latest" })).Steps);
    }

    [Fact]
    public void A_trainable_tokens_checkpoint_is_refused_by_a_lora_run()
    {
        var tokens = new RunConfig
        {
            TrainableTokens = new TrainableTokensConfig { TokenIndices = new[] { 10002 } },
            Training = Run("tokens", t => t with { LoadBestModelAtEnd = false, MaxSteps = 3 }).Training,
        };
        Train(tokens);
        var e = Refused(() => Train(Run("tokens", t => t with { LoadBestModelAtEnd = false, MaxSteps = 4, ResumeFromCheckpoint = "latest" })));
        Assert.Contains("TRAINABLE_TOKENS adapter, but this run trains LORA", e.Message);
    }

    [Fact]
    public void A_lora_run_with_token_rows_and_a_saved_module_trains_both_in_peft_keys_and_resumes_to_the_same_adapter()
    {
        var lora = Lora() with
        {
            TrainableTokenIndices = JsonSerializer.SerializeToElement(new[] { 10002, 10003 }),
            ModulesToSave = ["o_proj"],
        };
        RunConfig Rows(string output, Func<TrainingConfig, TrainingConfig>? change = null) =>
            Run(output, t => change is null ? t with { LoadBestModelAtEnd = false, SaveTotalLimit = null } : change(t with { LoadBestModelAtEnd = false, SaveTotalLimit = null }), lora);
        Train(Rows("rows"));
        var output = Path.Combine(_dir, "rows");
        using var model = ModelLoader.Load(Examples.Llama3, ScalarType.Float32, CPU);
        using (var weights = SafetensorsFile.Open(Path.Combine(output, "adapter_model.safetensors")))
        {
            var names = weights.Tensors.Select(t => t.Name).ToList();
            // The tied head follows the embedding's rows: no head key in LoRA's combined form.
            Assert.Contains(LoraAdapterFolder.KeyTokens("model.embed_tokens"), names);
            Assert.DoesNotContain(names, n => n.Contains("lm_head.token_adapter", StringComparison.Ordinal));
            Assert.Contains("base_model.model.model.layers.0.self_attn.o_proj.weight", names);
            Assert.DoesNotContain("base_model.model.model.layers.0.self_attn.o_proj.lora_A.weight", names);
            var rows = weights.Tensors.Single(t => t.Name == LoraAdapterFolder.KeyTokens("model.embed_tokens"));
            Assert.Equal(new long[] { 2, model.Config.HiddenSize }, rows.Shape);
        }
        // Loaded back, the rows are the trained ones (not the base rows), and the saved copy differs from the base weight.
        using var tuner = new LoraModel(model);
        LoraAdapterFolder.Load(tuner, output, "default");
        using var scope = NewDisposeScope();
        var trained = tuner.Tokens.TrainableParameters("default").Single();
        var baseRows = model.Weights["model.embed_tokens.weight"].index_select(0, tensor(new long[] { 10002, 10003 }));
        Assert.False(trained.detach().to(ScalarType.Float32).allclose(baseRows.to(ScalarType.Float32)), "the token rows must have been trained");
        var copy = tuner.SavedModules["model.layers.0.self_attn.o_proj"].Copies["default"];
        Assert.False(copy.Weight.detach().allclose(model.Weights["model.layers.0.self_attn.o_proj.weight"]), "the saved o_proj copy must have been trained");

        // Stopped at step 4 and resumed, the run gives the same adapter bit for bit.
        Assert.True(Train(Rows("parts"), cancelAt: 4).Cancelled);
        Train(Rows("parts", t => t with { ResumeFromCheckpoint = "latest" }));
        Assert.Equal(File.ReadAllBytes(Path.Combine(output, "adapter_model.safetensors")), File.ReadAllBytes(Path.Combine(_dir, "parts", "adapter_model.safetensors")));
    }

    private static ConfigFinding Refused(Action train) =>
        Assert.Single(Assert.Throws<InvalidConfigException>(train).Findings, f => f.Severity == ConfigSeverity.Error);

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}

/// <summary>Runs <see cref="LoraTrainingTests"/> after every parallel test, on its own.</summary>
[CollectionDefinition(nameof(LoraTrainingTests), DisableParallelization = true)]
public sealed class LoraTrainingCollection;
