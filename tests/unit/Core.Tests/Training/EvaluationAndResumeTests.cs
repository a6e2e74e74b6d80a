using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Xml.Linq;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Training;

namespace TrainableTokens.Core.Tests.Training;

/// <summary>Evaluation, metrics, best checkpoints, early stopping and exact resume, on the tiny Llama 3 model and the quickstart data.</summary>
public sealed class EvaluationAndResumeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-eval-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Llama3 => Examples.Llama3;
    private static string Data => Examples.QuickstartData;

    private static readonly string[] Timings = ["tokens_per_second", "elapsed_seconds"];

    /// <summary>The quickstart's 4 examples, one held out: 3 batches of 1 per epoch, 2 steps per epoch with accumulation 2.</summary>
    private RunConfig Run(string output, Func<TrainingConfig, TrainingConfig>? change = null)
    {
        var train = new TrainingConfig
        {
            BaseModel = Llama3, Dataset = Data, OutputDir = Path.Combine(_dir, output),
            LearningRate = 0.05, LrSchedulerType = "cosine", WarmupSteps = 1, MaxSteps = 8, PerDeviceTrainBatchSize = 1,
            GradientAccumulationSteps = 2, MaxSeqLength = 64, SaveSteps = 3, LoggingSteps = 2, Seed = 7,
            EvalSplit = 0.25, EvalStrategy = "steps", EvalSteps = 3, LoadBestModelAtEnd = true, SaveTotalLimit = 1,
        };
        return new RunConfig
        {
            TrainableTokens = new TrainableTokensConfig { TokenIndices = new[] { 10002, 10003 } },
            Training = change is null ? train : change(train),
        };
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
        state.Remove("best_model_checkpoint"); // a full path: the two runs write different folders
        return state.ToJsonString();
    }

    [Fact]
    public void Resuming_mid_epoch_with_accumulation_and_evaluation_gives_the_uninterrupted_adapter_history_and_best_checkpoint()
    {
        var whole = Train(Run("whole"));

        // Checkpoint-3 lies inside epoch 1 (after 2 of its 3 batches) and inside a logging interval (logging_steps 2).
        var first = Train(Run("parts"), cancelAt: 4);
        Assert.True(first.Cancelled);
        Assert.Equal(4, MetricsLines(Path.Combine(_dir, "parts")).Max(l => (int)l["step"]!));
        var second = Train(Run("parts", t => t with { ResumeFromCheckpoint = "latest" }), cancelAt: 7);
        Assert.True(second.Cancelled);
        var resumed = Train(Run("parts", t => t with { ResumeFromCheckpoint = "latest" }));

        Assert.False(resumed.Cancelled);
        Assert.Equal(whole.Steps, resumed.Steps);
        var wholeDir = Path.Combine(_dir, "whole");
        var partsDir = Path.Combine(_dir, "parts");
        Assert.Equal(File.ReadAllBytes(Path.Combine(wholeDir, "adapter_model.safetensors")), File.ReadAllBytes(Path.Combine(partsDir, "adapter_model.safetensors")));
        // The history: no line lost or repeated across the two resumes, every value but the timings the same.
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
    public void Evaluation_reports_the_loss_before_and_after_and_writes_metrics_lines_and_a_loss_curve()
    {
        var result = Train(Run("eval", t => t with { LoadBestModelAtEnd = false, SaveTotalLimit = null, MaxSteps = 6, EvalStrategy = null, EvalSteps = null }));

        Assert.NotNull(result.EvalLossBefore);
        Assert.True(result.EvalLoss < result.EvalLossBefore, $"eval loss {result.EvalLossBefore} -> {result.EvalLoss}");
        Assert.True(result.Improved);
        Assert.True(result.BestEvalLoss <= result.EvalLoss);
        var output = Path.Combine(_dir, "eval");
        Assert.Equal(Path.Combine(output, "metrics.jsonl"), result.MetricsFile);
        var lines = MetricsLines(output);
        var keys = new[] { "step", "epoch", "loss", "eval_loss", "eval_perplexity", "learning_rate", "grad_norm", "tokens_per_second", "elapsed_seconds" };
        Assert.All(lines, l => Assert.Equal(keys, l.Select(p => p.Key)));
        // eval_strategy null with eval data evaluates per epoch (2 steps here), before training and after the last step.
        Assert.Equal(new[] { 0, 2, 4, 6 }, lines.Where(l => l["eval_loss"] is not null).Select(l => (int)l["step"]!));
        Assert.Equal(new[] { 1, 2, 4, 6 }, lines.Where(l => l["loss"] is not null).Select(l => (int)l["step"]!));
        foreach (var l in lines.Where(l => l["eval_loss"] is not null))
            Assert.Equal(Math.Exp((double)l["eval_loss"]!), (double)l["eval_perplexity"]!, 12);
        Assert.Equal(result.EvalLoss, (double)lines.Last(l => l["eval_loss"] is not null)["eval_loss"]!);
        Assert.Equal(lines.Count, result.LossHistory.Count);

        var svg = XDocument.Load(result.LossCurveFile!);
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", svg.Root!.Name);
        Assert.Equal(2, svg.Descendants(ns + "polyline").Count());
        Assert.Contains(svg.Descendants(ns + "text"), t => t.Value == "step");
        Assert.Contains(svg.Descendants(ns + "text"), t => t.Value == "eval loss");
    }

    [Fact]
    public void The_logged_loss_is_the_mean_over_the_logging_interval()
    {
        var steps = new List<TrainingProgress>();
        var run = Run("mean", t => t with { EvalSplit = 0, EvalStrategy = null, EvalSteps = null, LoadBestModelAtEnd = false, LoggingSteps = 3, MaxSteps = 6, SaveSteps = 100 });
        var result = Trainer.Run(new TrainingRequest(run), new SyncProgress(steps.Add));
        var logged = result.LossHistory.Where(e => e.Loss is not null).ToList();
        Assert.Equal(new[] { 1, 3, 6 }, logged.Select(e => e.Step));
        // Every step's own loss, from the same run logged at every step (the same seed: the same steps).
        var each = Trainer.Run(new TrainingRequest(Run("each", t => t with { EvalSplit = 0, EvalStrategy = null, EvalSteps = null, LoadBestModelAtEnd = false, LoggingSteps = 1, MaxSteps = 6, SaveSteps = 100 })))
            .LossHistory.Where(e => e.Loss is not null).Select(e => e.Loss!.Value).ToList();
        Assert.Equal(6, each.Count);
        // Step 1 is logged alone; the interval after it holds steps 2 and 3, the next 4 to 6.
        Assert.Equal(each[0], logged[0].Loss!.Value, 12);
        Assert.Equal((each[1] + each[2]) / 2, logged[1].Loss!.Value, 12);
        Assert.Equal((each[3] + each[4] + each[5]) / 3, logged[2].Loss!.Value, 12);
        Assert.Equal(logged[2].Loss!.Value, steps[5].Loss, 12);
        Assert.Equal(logged[2].Loss!.Value, result.FinalLoss, 12);
        Assert.Equal(each[5], steps[5].StepLoss, 12);
        Assert.NotEqual(steps[5].StepLoss, steps[5].Loss);
        Assert.All(logged, e => Assert.True(e.GradNorm > 0));
    }

    [Fact]
    public void Steps_between_logging_steps_read_nothing_back_from_the_device()
    {
        // Issue 13: reading the loss and the gradient norm every step makes a GPU wait for itself every step. They are
        // read where something is logged, evaluated or saved; the steps between report no loss yet.
        var steps = new List<TrainingProgress>();
        var run = Run("deferred", t => t with { EvalSplit = 0, EvalStrategy = null, EvalSteps = null, LoadBestModelAtEnd = false, LoggingSteps = 3, MaxSteps = 7, SaveSteps = 5, SaveTotalLimit = 3 });
        Trainer.Run(new TrainingRequest(run), new SyncProgress(steps.Add));
        Assert.Equal(new[] { 1, 3, 5, 6, 7 }, steps.Where(p => !double.IsNaN(p.StepLoss)).Select(p => p.Step));
        Assert.Equal(new[] { 1, 3, 5, 6, 7 }, steps.Where(p => p.GradNorm is not null).Select(p => p.Step));
        Assert.All(steps.Where(p => p.Step is 2 or 4), p => Assert.True(double.IsNaN(p.Loss)));
        // The checkpoint at step 5 (not a logging step) read steps 4 and 5: its interval holds both losses.
        var state = TrainerState.Read(Path.Combine(run.Training.OutputDir!, "checkpoint-5"));
        Assert.Equal(2, state.Interval!.LossSteps);
        Assert.True(double.IsFinite(state.Interval.LossSum) && state.Interval.LossSum > 0);
    }

    [Fact]
    public void Load_best_model_at_end_writes_the_best_checkpoint_and_rotation_keeps_it()
    {
        // greater_is_better on a loss makes the first evaluation the best, so the best is not the last checkpoint.
        var result = Train(Run("best", t => t with { MetricForBestModel = "eval_loss", GreaterIsBetter = true }));
        var output = Path.Combine(_dir, "best");
        Assert.Equal(Path.Combine(output, "checkpoint-3"), result.BestCheckpoint);
        // save_total_limit 1, but the best stays beside the newest, as in Hugging Face.
        Assert.Equal(new[] { "checkpoint-3", "checkpoint-8" }, Directory.GetDirectories(output, "checkpoint-*").Select(Path.GetFileName).Order());
        Assert.Equal(File.ReadAllBytes(Path.Combine(output, "checkpoint-3", "adapter_model.safetensors")), File.ReadAllBytes(Path.Combine(output, "adapter_model.safetensors")));
        Assert.Equal(result.LossHistory.Single(e => e.Step == 3 && e.EvalLoss is not null).EvalLoss, result.EvalLoss);
        using var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "checkpoint-8", "trainer_state.json")));
        Assert.Equal(Path.Combine(output, "checkpoint-3"), state.RootElement.GetProperty("best_model_checkpoint").GetString());
        Assert.Equal(result.EvalLoss, state.RootElement.GetProperty("best_metric").GetDouble());
        foreach (var key in new[] { "global_step", "epoch", "log_history", "max_steps", "logging_steps", "eval_steps", "save_steps", "train_batch_size", "num_train_epochs", "stateful_callbacks" })
            Assert.True(state.RootElement.TryGetProperty(key, out _), key);
    }

    [Fact]
    public void Early_stopping_ends_the_run_after_patience_evaluations_without_improvement()
    {
        var result = Train(Run("early", t => t with { MetricForBestModel = "eval_loss", GreaterIsBetter = true, EarlyStoppingPatience = 1, MaxSteps = 30 }));
        Assert.True(result.EarlyStopped);
        Assert.Equal(6, result.Steps);
        Assert.Contains("stopped early", result.Message);
        var output = Path.Combine(_dir, "early");
        Assert.True(Directory.Exists(Path.Combine(output, "checkpoint-6")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(output, "checkpoint-3", "adapter_model.safetensors")), File.ReadAllBytes(Path.Combine(output, "adapter_model.safetensors")));
        // Resuming a stopped run trains no further.
        var again = Train(Run("early", t => t with { MetricForBestModel = "eval_loss", GreaterIsBetter = true, EarlyStoppingPatience = 1, MaxSteps = 30, ResumeFromCheckpoint = "latest" }));
        Assert.Equal(6, again.Steps);
        Assert.True(again.EarlyStopped);
    }

    [Fact]
    public void A_run_cancelled_before_its_first_checkpoint_leaves_no_metrics_and_no_folder()
    {
        var result = Train(Run("cancelled"), cancelAt: 2);
        Assert.True(result.Cancelled);
        Assert.Equal(2, result.LossHistory.Count(e => e.Loss is not null));
        Assert.Null(result.MetricsFile);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void An_eval_dataset_file_is_evaluated_and_a_missing_one_is_refused_before_anything_is_written()
    {
        var result = Train(Run("file", t => t with { EvalSplit = 0, EvalDataset = Data, MaxSteps = 3 }));
        Assert.NotNull(result.EvalLossBefore);
        Assert.Equal(new[] { 0, 3 }, result.LossHistory.Where(h => h.EvalLoss is not null).Select(h => h.Step));

        var e = Assert.Throws<InvalidConfigException>(() => Train(Run("missing", t => t with { EvalSplit = 0, EvalDataset = Path.Combine(_dir, "nope.jsonl") })));
        Assert.Contains(e.Findings, f => f.Field == "training.eval_dataset" && f.Message.Contains("nope.jsonl"));
        Assert.False(Directory.Exists(Path.Combine(_dir, "missing")));
    }

    [Fact]
    public void A_checkpoint_of_another_model_or_dataset_is_refused_naming_what_differs()
    {
        Train(Run("run", t => t with { LoadBestModelAtEnd = false, MaxSteps = 3 }));
        var model = Directory.CreateDirectory(Path.Combine(_dir, "model")).FullName;
        foreach (var file in Directory.GetFiles(Llama3)) File.Copy(file, Path.Combine(model, Path.GetFileName(file)));
        File.AppendAllText(Path.Combine(model, "config.json"), "\n");
        var otherModel = Refused(() =>
            Train(Run("run", t => t with { LoadBestModelAtEnd = false, MaxSteps = 4, BaseModel = model, ResumeFromCheckpoint = "latest" })));
        Assert.Equal("training.resume_from_checkpoint", otherModel.Field);
        Assert.Contains("another model", otherModel.Message);

        var data = Path.Combine(_dir, "other.jsonl");
        File.WriteAllLines(data, File.ReadAllLines(Data).Reverse());
        var otherData = Refused(() =>
            Train(Run("run", t => t with { LoadBestModelAtEnd = false, MaxSteps = 4, Dataset = data, ResumeFromCheckpoint = "latest" })));
        Assert.Contains("training examples differ", otherData.Message);

        var otherEval = Refused(() =>
            Train(Run("run", t => t with { LoadBestModelAtEnd = false, MaxSteps = 4, EvalSplit = 0, EvalStrategy = null, EvalSteps = null, ResumeFromCheckpoint = "latest" })));
        Assert.Contains("training examples differ", otherEval.Message);
    }

    [Fact]
    public void A_damaged_newest_checkpoint_is_refused_naming_it_and_the_newest_good_one_and_nothing_is_written()
    {
        var run = Run("damaged", t => t with { LoadBestModelAtEnd = false, SaveTotalLimit = null, SaveSteps = 2, MaxSteps = 4 });
        Train(run);
        var output = Path.Combine(_dir, "damaged");
        var optimizer = Path.Combine(output, "checkpoint-4", "optimizer.safetensors");
        var bytes = File.ReadAllBytes(optimizer);
        File.WriteAllBytes(optimizer, bytes[..(bytes.Length - 10)]);
        var before = Snapshot(output);

        var resume = run with { Training = run.Training! with { MaxSteps = 6, ResumeFromCheckpoint = "latest" } };
        var e = Refused(() => Train(resume));
        Assert.Equal("training.resume_from_checkpoint", e.Field);
        Assert.Contains(optimizer, e.Message);
        Assert.Contains(Path.Combine(output, "checkpoint-2"), e.Message);
        Assert.Equal(before, Snapshot(output));

        // A truncated trainer_state.json, given by path, is refused naming the file.
        var state = Path.Combine(output, "checkpoint-2", "trainer_state.json");
        var text = File.ReadAllText(state);
        File.WriteAllText(state, text[..(text.Length / 2)]);
        var bad = Refused(() => Train(run with { Training = run.Training! with { MaxSteps = 6, ResumeFromCheckpoint = Path.Combine(output, "checkpoint-2") } }));
        Assert.Contains(state, bad.Message);
        Assert.Contains("not a valid trainer state", bad.Message);

        // A log_history that claims steps the checkpoint never reached is damage too.
        File.WriteAllText(state, text.Replace("\"global_step\": 2", "\"global_step\": 1"));
        Assert.Contains("after its global_step", Refused(() =>
            Train(run with { Training = run.Training! with { MaxSteps = 6, ResumeFromCheckpoint = Path.Combine(output, "checkpoint-2") } })).Message);

        // The good checkpoint stays usable.
        File.WriteAllText(state, text);
        Assert.Equal(6, Train(run with { Training = run.Training! with { MaxSteps = 6, ResumeFromCheckpoint = Path.Combine(output, "checkpoint-2") } }).Steps);
    }

    private static List<(string, string)> Snapshot(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Order()
            .Select(f => (f, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))))).ToList();

    [Theory]
    [InlineData("load_best_model_at_end: true", "training.load_best_model_at_end", "needs evaluation")]
    [InlineData("eval_strategy: steps", "training.eval_strategy", "no evaluation data")]
    [InlineData("eval_split: 0.1\n  eval_dataset: ./eval.jsonl", "training.eval_dataset", "Both eval_dataset and eval_split")]
    [InlineData("eval_split: 0.1\n  eval_strategy: epoch\n  load_best_model_at_end: true", "training.load_best_model_at_end", "eval_strategy: steps")]
    [InlineData("eval_split: 0.1\n  eval_steps: 3\n  save_steps: 10\n  load_best_model_at_end: true", "training.save_steps", "multiple of eval_steps")]
    [InlineData("eval_split: 0.1\n  early_stopping_patience: 2", "training.early_stopping_patience", "load_best_model_at_end")]
    [InlineData("metric_for_best_model: eval_loss", "training.metric_for_best_model", "nothing is evaluated")]
    [InlineData("eval_strategy: sometimes", "training.eval_strategy", "steps")]
    [InlineData("early_stopping_patience: 0", "training.early_stopping_patience", "1 or more")]
    public void Evaluation_settings_that_do_not_fit_together_are_errors_naming_the_field_and_the_fix(string settings, string field, string text)
    {
        var yaml = $"trainable_tokens:\n  token_indices: [1]\ntraining:\n  {settings}\n";
        var errors = RunConfig.FromYaml(yaml, "run.yaml").Validate().Where(f => f.Severity == ConfigSeverity.Error).ToList();
        Assert.Contains(errors, f => f.Field == field && f.Message.Contains(text) && f.Line is not null);
    }

    [Fact]
    public void A_consistent_evaluation_setup_has_no_findings()
    {
        var yaml = "trainable_tokens:\n  token_indices: [1]\ntraining:\n  eval_split: 0.1\n  eval_strategy: steps\n  eval_steps: 5\n  save_steps: 10\n" +
                   "  load_best_model_at_end: true\n  metric_for_best_model: loss\n  early_stopping_patience: 3\n  early_stopping_threshold: 0.01\n";
        Assert.Empty(RunConfig.FromYaml(yaml, "run.yaml").Validate());
    }

    [Fact]
    public void An_eval_split_that_leaves_nothing_to_train_on_is_refused()
    {
        var e = Refused(() => Train(Run("all", t => t with { EvalSplit = 0.9, LoadBestModelAtEnd = false })));
        Assert.Equal("training.eval_split", e.Field);
        Assert.Contains("leaves none to train on", e.Message);
        Assert.False(Directory.Exists(Path.Combine(_dir, "all")));
    }

    [Fact]
    public void Metrics_hold_every_logged_step_at_the_end_and_at_a_cancel_however_often_they_were_rewritten()
    {
        // As in a long run, where rewriting the whole history costs more than a step: logging steps alone write nothing.
        TrainingLoop.HistoryRewriteFactor = double.MaxValue;
        try
        {
            RunBoth();
        }
        finally
        {
            TrainingLoop.HistoryRewriteFactor = null;
        }
    }

    private void RunBoth()
    {
        var whole = Train(Run("every", t => t with { EvalSplit = 0, EvalStrategy = "no", EvalSteps = null, LoadBestModelAtEnd = false, LoggingSteps = 1, MaxSteps = 40, SaveSteps = 1000 }));
        var stopped = Train(Run("cancel", t => t with { EvalSplit = 0, EvalStrategy = "no", EvalSteps = null, LoadBestModelAtEnd = false, LoggingSteps = 1, MaxSteps = 40, SaveSteps = 5 }), cancelAt: 13);

        Assert.Equal(Enumerable.Range(1, 40), MetricsLines(whole.AdapterFolder!).Select(l => (int)l["step"]!));
        Assert.Equal(whole.LossHistory.Count, MetricsLines(whole.AdapterFolder!).Count);
        Assert.True(stopped.Cancelled);
        Assert.Equal(Enumerable.Range(1, 13), MetricsLines(Path.Combine(_dir, "cancel")).Select(l => (int)l["step"]!));
    }

    /// <summary>The run is refused before anything is loaded or written: the preflight's one error.</summary>
    private static TrainableTokens.Core.Configuration.ConfigFinding Refused(Action train) =>
        Assert.Single(Assert.Throws<InvalidConfigException>(train).Findings);

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
