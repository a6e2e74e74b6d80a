using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Training;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Training;

/// <summary>Training end to end on the tiny Llama 3 model (real tokenizer) and the quickstart data shipped in examples.</summary>
public sealed class TrainerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-train-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Llama3 => Examples.Llama3;
    private static string Data => Examples.QuickstartData;

    private RunConfig Run(int maxSteps, int saveSteps = 500, int? saveTotalLimit = null, string output = "adapter") =>
        new()
        {
            TrainableTokens = new TrainableTokensConfig { TokenIndices = new[] { 10002, 10003 } },
            Training = new TrainingConfig
            {
                BaseModel = Llama3, Dataset = Data, OutputDir = Path.Combine(_dir, output),
                LearningRate = 0.05, LrSchedulerType = "constant", MaxSteps = maxSteps, PerDeviceTrainBatchSize = 4,
                MaxSeqLength = 64, SaveSteps = saveSteps, SaveTotalLimit = saveTotalLimit, Seed = 7,
            },
        };

    [Fact]
    public void Training_lowers_the_loss_and_changes_only_the_trained_rows()
    {
        var modelFile = Path.Combine(Llama3, "model.safetensors");
        var hashBefore = SHA256.HashData(File.ReadAllBytes(modelFile));
        var steps = 0;
        var result = Trainer.Run(new TrainingRequest(Run(maxSteps: 8)), new SyncProgress(_ => steps++));

        Assert.Equal(8, result.Steps);
        Assert.Equal(8, steps);
        Assert.False(result.Cancelled);
        Assert.True(result.FinalLoss < result.FirstLoss, $"loss {result.FirstLoss} -> {result.FinalLoss}");
        Assert.Equal(Path.Combine(_dir, "adapter"), result.AdapterFolder);
        // The last step gets a checkpoint, as Hugging Face writes one; the history and its curve sit beside the adapter.
        Assert.Equal(new[] { "adapter_config.json", "adapter_model.safetensors", "checkpoint-8", "loss_curve.svg", "metrics.jsonl" },
            Directory.GetFileSystemEntries(result.AdapterFolder!).Select(Path.GetFileName).Order());
        Assert.Equal(hashBefore, SHA256.HashData(File.ReadAllBytes(modelFile)));

        using var model = ModelLoader.Load(Llama3);
        using var baseWeights = model.InputEmbedding.Weight.detach().clone();
        using var tuner = new TrainableTokensModel(model);
        var config = AdapterFolder.Load(tuner, result.AdapterFolder!, "trained");
        Assert.Equal(new long[] { 10002, 10003 }, config.TokenIndices);
        using var rows = tuner.TrainableParameters("trained").Single().detach();
        using var index = tensor(new long[] { 10002, 10003 });
        using var before = baseWeights.index_select(0, index);
        Assert.False(rows.allclose(before), "the trained rows moved");
        // The base embedding stays bit-identical under the adapter; only the adapter's rows differ in the effective table.
        var wrapped = Assert.IsType<TrainableTokensEmbedding>(model.InputEmbedding);
        using (var differs = wrapped.Base.Weight.ne(baseWeights).any()) Assert.False(differs.item<bool>());
        using var ids = arange(10250L).reshape(1, -1);
        using var embedded = model.InputEmbedding.Embed(ids)[0];
        using var changed = embedded.ne(baseWeights[..10250]).any(1).nonzero().flatten();
        Assert.Equal(new long[] { 10002, 10003 }, changed.data<long>().ToArray());
    }

    [Fact]
    public void Warmup_then_cosine_follows_hugging_face()
    {
        var schedule = new LearningRateSchedule("cosine", 0.01, LearningRateSchedule.WarmupFor(0, 0.1, 20), 20);
        Assert.Equal(2, schedule.WarmupSteps);
        Assert.Equal(0.0, schedule.At(0), 12);
        Assert.Equal(0.005, schedule.At(1), 12);
        Assert.Equal(0.01, schedule.At(2), 12);
        Assert.Equal(0.005, schedule.At(11), 12);
        Assert.Equal(0.01 * 0.5 * (1 + Math.Cos(Math.PI * 16 / 18.0)), schedule.At(18), 12);
        var linear = new LearningRateSchedule("linear", 1.0, 5, 15);
        Assert.Equal(0.5, linear.At(10), 12);
        Assert.Equal(1.0, new LearningRateSchedule("constant", 1.0, 5, 15).At(0), 12);
        Assert.Equal(0.2, new LearningRateSchedule("constant_with_warmup", 1.0, 5, 15).At(1), 12);
        Assert.Equal(3, LearningRateSchedule.WarmupFor(3, 0.5, 100));
    }

    [Fact]
    public void Cancelling_stops_after_the_current_step_and_leaves_no_output_folder()
    {
        using var cancel = new CancellationTokenSource();
        var result = Trainer.Run(new TrainingRequest(Run(maxSteps: 50)), new SyncProgress(p => { if (p.Step == 2) cancel.Cancel(); }), cancel.Token);
        Assert.True(result.Cancelled);
        Assert.Equal(2, result.Steps);
        Assert.Null(result.AdapterFolder);
        Assert.Empty(result.Checkpoints);
        Assert.Contains("Nothing was written", result.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void Checkpoints_keep_the_save_total_limit_most_recent()
    {
        var result = Trainer.Run(new TrainingRequest(Run(maxSteps: 7, saveSteps: 2, saveTotalLimit: 2)));
        var output = Path.Combine(_dir, "adapter");
        Assert.Equal(new[] { "checkpoint-6", "checkpoint-7" }, result.Checkpoints.Select(Path.GetFileName));
        Assert.Equal(new[] { "adapter_config.json", "adapter_model.safetensors", "checkpoint-6", "checkpoint-7", "loss_curve.svg", "metrics.jsonl" },
            Directory.GetFileSystemEntries(output).Select(Path.GetFileName).Order());
        Assert.Equal(new long[] { 10002, 10003 }, AdapterFolder.ReadConfig(Path.Combine(output, "checkpoint-6")).TokenIndices);
        // The last step's checkpoint holds the final adapter.
        Assert.Equal(File.ReadAllBytes(Path.Combine(output, "adapter_model.safetensors")), File.ReadAllBytes(Path.Combine(output, "checkpoint-7", "adapter_model.safetensors")));
    }

    [Fact]
    public void A_non_empty_output_folder_is_refused_unless_overwriting_is_allowed_which_replaces_only_training_output()
    {
        var output = Directory.CreateDirectory(Path.Combine(_dir, "adapter")).FullName;
        File.WriteAllText(Path.Combine(output, "keep.txt"), "mine");
        Assert.Throws<InvalidConfigException>(() => Trainer.Run(new TrainingRequest(Run(maxSteps: 1))));
        Assert.True(File.Exists(Path.Combine(output, "keep.txt")));
        Directory.CreateDirectory(Path.Combine(output, "checkpoint-99"));
        var result = Trainer.Run(new TrainingRequest(Run(maxSteps: 1)) { OverwriteOutputDir = true });
        Assert.Equal(1, result.Steps);
        Assert.True(File.Exists(Path.Combine(output, "keep.txt")));
        Assert.False(Directory.Exists(Path.Combine(output, "checkpoint-99")));
        Assert.True(File.Exists(Path.Combine(output, "adapter_model.safetensors")));
    }

    [Fact]
    public void Accumulating_two_half_batches_matches_one_full_batch_and_the_same_seed_repeats_the_run()
    {
        float[] Rows(string output, int batch, int accumulation)
        {
            var run = Run(maxSteps: 1, output: output);
            run = run with { Training = run.Training! with { PerDeviceTrainBatchSize = batch, GradientAccumulationSteps = accumulation } };
            var result = Trainer.Run(new TrainingRequest(run));
            using var model = ModelLoader.Load(Llama3);
            using var tuner = new TrainableTokensModel(model);
            AdapterFolder.Load(tuner, result.AdapterFolder!, "a");
            return tuner.TrainableParameters("a").Single().detach().data<float>().ToArray();
        }
        var full = Rows("full", 4, 1);
        var accumulated = Rows("accumulated", 2, 2);
        var again = Rows("again", 4, 1);
        Assert.Equal(full, again);
        Assert.All(full.Zip(accumulated), p => Assert.Equal(p.First, p.Second, 1e-5f));
    }

    private static float[] AdapterRows(string folder)
    {
        using var model = ModelLoader.Load(Llama3);
        using var tuner = new TrainableTokensModel(model);
        AdapterFolder.Load(tuner, folder, "a");
        return tuner.TrainableParameters("a").Single().detach().data<float>().ToArray();
    }

    [Fact]
    public void Resuming_from_a_checkpoint_gives_exactly_the_uninterrupted_result()
    {
        // Batch 1 over the 4 quickstart examples: checkpoint-2 is mid-epoch, checkpoint-4 at an epoch's end.
        RunConfig Config(string output, string? resume = null)
        {
            var run = Run(maxSteps: 7, saveSteps: 2, output: output);
            return run with { Training = run.Training! with { PerDeviceTrainBatchSize = 1, LrSchedulerType = "cosine", WarmupSteps = 2, ResumeFromCheckpoint = resume } };
        }
        var whole = Trainer.Run(new TrainingRequest(Config("whole")));

        TrainingResult StopAt(int step, string? resume)
        {
            using var cancel = new CancellationTokenSource();
            var r = Trainer.Run(new TrainingRequest(Config("parts", resume)), new SyncProgress(p => { if (p.Step == step) cancel.Cancel(); }), cancel.Token);
            Assert.True(r.Cancelled);
            return r;
        }
        Assert.Equal(new[] { "checkpoint-2" }, StopAt(3, null).Checkpoints.Select(Path.GetFileName));
        Assert.Equal(new[] { "checkpoint-2", "checkpoint-4" }, StopAt(5, "latest").Checkpoints.Select(Path.GetFileName));
        var resumed = Trainer.Run(new TrainingRequest(Config("parts", resume: "latest")));

        Assert.Equal(7, resumed.Steps);
        Assert.Equal(whole.FinalLoss, resumed.FinalLoss);
        Assert.Equal(whole.FirstLoss, resumed.FirstLoss);
        Assert.Equal(AdapterRows(whole.AdapterFolder!), AdapterRows(resumed.AdapterFolder!));
        Assert.Equal(new[] { "checkpoint-2", "checkpoint-4", "checkpoint-6", "checkpoint-7" }, resumed.Checkpoints.Select(Path.GetFileName));
    }

    [Fact]
    public void Resuming_refuses_a_checkpoint_of_other_tokens()
    {
        var run = Run(maxSteps: 3, saveSteps: 2);
        Trainer.Run(new TrainingRequest(run));
        var other = run with
        {
            TrainableTokens = new TrainableTokensConfig { TokenIndices = new[] { 10004 } },
            Training = run.Training! with { ResumeFromCheckpoint = "latest", MaxSteps = 4 },
        };
        // The preflight refuses it, as Test-TrainableTokensConfig does, before anything is loaded or written.
        var e = Assert.Throws<InvalidConfigException>(() => Trainer.Run(new TrainingRequest(other)));
        var finding = Assert.Single(e.Findings);
        Assert.Equal("training.resume_from_checkpoint", finding.Field);
        Assert.Contains("trained token ids [10002, 10003], but this run asks for [10004]", finding.Message);
    }

    [Fact]
    public void A_forced_rerun_that_fails_gives_the_previous_adapter_and_checkpoints_back()
    {
        var output = Path.Combine(_dir, "adapter");
        Trainer.Run(new TrainingRequest(Run(maxSteps: 3, saveSteps: 2)));
        var before = Directory.GetFiles(output, "*", SearchOption.AllDirectories).Order().Select(f => (f, Hash: Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))))).ToList();

        // Fails after its first checkpoint was written (the old ones are set aside by then).
        Assert.Throws<InvalidOperationException>(() => Trainer.Run(new TrainingRequest(Run(maxSteps: 9, saveSteps: 1)) { OverwriteOutputDir = true },
            new SyncProgress(p => { if (p.Step == 2) throw new InvalidOperationException("disk gone"); })));

        var after = Directory.GetFiles(output, "*", SearchOption.AllDirectories).Order().Select(f => (f, Hash: Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))))).ToList();
        Assert.Equal(before, after);
        Assert.Empty(Directory.GetDirectories(output, ".*"));
    }

    [Fact]
    public void A_cancelled_forced_rerun_puts_the_previous_run_back()
    {
        var output = Path.Combine(_dir, "adapter");
        Trainer.Run(new TrainingRequest(Run(maxSteps: 3, saveSteps: 2)));
        var weights = File.ReadAllBytes(Path.Combine(output, "adapter_model.safetensors"));
        using var cancel = new CancellationTokenSource();
        var result = Trainer.Run(new TrainingRequest(Run(maxSteps: 9, saveSteps: 1)) { OverwriteOutputDir = true },
            new SyncProgress(p => { if (p.Step == 3) cancel.Cancel(); }), cancel.Token);
        Assert.True(result.Cancelled);
        Assert.Contains("put back", result.Message);
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(output, "adapter_model.safetensors")));
        Assert.Equal(new[] { "adapter_config.json", "adapter_model.safetensors", "checkpoint-2", "checkpoint-3", "loss_curve.svg", "metrics.jsonl" },
            Directory.GetFileSystemEntries(output).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void A_run_repairs_what_a_killed_run_left_and_restores_a_set_aside_previous_run()
    {
        var output = Path.Combine(_dir, "adapter");
        Trainer.Run(new TrainingRequest(Run(maxSteps: 3, saveSteps: 2)));
        var weights = File.ReadAllBytes(Path.Combine(output, "adapter_model.safetensors"));
        // What kill -9 leaves at various moments of a forced rerun: the previous run set aside, a new checkpoint, a
        // partial checkpoint, a half-deleted rotation, a partial final adapter, and a weights file without config.
        var previous = Directory.CreateDirectory(Path.Combine(output, ".previous." + Guid.NewGuid().ToString("N"))).FullName;
        foreach (var item in new[] { "checkpoint-2", "adapter_config.json", "adapter_model.safetensors" })
        {
            if (Directory.Exists(Path.Combine(output, item))) Directory.Move(Path.Combine(output, item), Path.Combine(previous, item));
            else File.Move(Path.Combine(output, item), Path.Combine(previous, item));
        }
        File.WriteAllText(Path.Combine(previous, ".moved"), "");
        Directory.CreateDirectory(Path.Combine(output, "checkpoint-1"));
        File.WriteAllText(Path.Combine(output, "checkpoint-1", "adapter_config.json"), "{}");
        Directory.CreateDirectory(Path.Combine(output, $".checkpoint-3.{Guid.NewGuid():N}.partial"));
        Directory.CreateDirectory(Path.Combine(output, $".checkpoint-0.{Guid.NewGuid():N}.deleting"));
        Directory.CreateDirectory(Path.Combine(output, $".adapter.{Guid.NewGuid():N}.partial"));
        File.WriteAllText(Path.Combine(output, "adapter_model.safetensors"), "half");
        File.WriteAllText(Path.Combine(output, ".checkpoint-3.lock"), "");
        File.WriteAllText(Path.Combine(output, ".checkpoint-3.lock.json"), "{}");
        File.WriteAllText(Path.Combine(output, $".adapter_config.json.{Guid.NewGuid():N}.tmp"), "{");

        // The next run, which fails at once (its dataset is missing), must still leave the folder repaired.
        using (new OutputFolder(output, overwrite: false, limit: null, resuming: false)) { }

        Assert.Equal(new[] { "adapter_config.json", "adapter_model.safetensors", "checkpoint-2" },
            Directory.GetFileSystemEntries(output).Select(Path.GetFileName).Order());
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(output, "adapter_model.safetensors")));
    }

    [Fact]
    public void A_second_run_on_the_same_output_folder_is_refused_naming_the_holder()
    {
        var output = Path.Combine(_dir, "adapter");
        using var first = new OutputFolder(output, overwrite: false, limit: null, resuming: false);
        var e = Assert.Throws<OutputWriteException>(() => Trainer.Run(new TrainingRequest(Run(maxSteps: 1))));
        Assert.Equal("OutputLocked", e.ErrorId);
        Assert.Contains($"process {Environment.ProcessId}", e.Message);
        Assert.Contains("Start-TokenTraining", e.Message);
    }

    /// <summary>Reports on the training thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
