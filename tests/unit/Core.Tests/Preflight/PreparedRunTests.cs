using System;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Training;

namespace TrainableTokens.Core.Tests.Preflight;

/// <summary>
/// One way through: the preflight reads and tokenises the run once and hands the trainer a prepared run; settings
/// given at start replace the file's and are checked as file values are, reported under the parameter's name.
/// </summary>
public sealed class PreparedRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-prepared-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Llama3 => Examples.Llama3;

    private static readonly System.Collections.Generic.Dictionary<string, string> Parameters = new()
    {
        ["training.base_model"] = "-Model",
        ["training.learning_rate"] = "-LearningRate",
        ["training.seed"] = "-Seed",
    };

    /// <summary>A run file in the test folder with a dataset copied beside it; relative paths resolve there.</summary>
    private string RunFile(string training = "")
    {
        File.Copy(Examples.QuickstartData, Path.Combine(_dir, "train.jsonl"), overwrite: true);
        var path = Path.Combine(_dir, "run.yaml");
        File.WriteAllText(path, "trainable_tokens:\n  token_indices: [10002, 10003]\ntraining:\n" +
            $"  base_model: {Llama3}\n  dataset: ./train.jsonl\n  output_dir: ./out\n  max_steps: 2\n  per_device_train_batch_size: 4\n  max_seq_length: 64\n" + training);
        return path;
    }

    private static PreflightReport Check(string runFile, RunOverrides? overrides = null, bool forTraining = true) =>
        RunPreflight.Check(new PreflightRequest(RunConfig.Load(runFile)) { Overrides = overrides, ForTraining = forTraining });

    [Fact]
    public void A_good_run_is_prepared_with_paths_resolved_and_the_dataset_tokenised()
    {
        var report = Check(RunFile());

        Assert.Empty(report.Findings);
        var run = Assert.IsType<PreparedRun>(report.Run);
        Assert.Equal(Path.Combine(_dir, "out"), run.OutputDir);
        Assert.Equal(Path.Combine(_dir, "train.jsonl"), run.DatasetFile);
        Assert.Equal(Llama3, run.ModelFolder);
        Assert.Equal(Llama3, run.Adapter!.BaseModelNameOrPath);
        Assert.Equal(new long[] { 10002, 10003 }, run.Adapter!.TokenIndices);
        Assert.True(run.Dataset.Examples.Count > 0);
        Assert.Equal("llama", run.Model.ModelType);
    }

    [Fact]
    public void The_trainer_uses_the_prepared_dataset_and_does_not_read_the_file_again()
    {
        var run = Check(RunFile()).Run!;
        File.Delete(run.DatasetFile);

        var result = Trainer.Run(run);

        Assert.Equal(2, result.Steps);
        Assert.NotNull(result.AdapterFolder);
    }

    [Fact]
    public void The_eval_dataset_is_tokenised_by_the_check_too_and_not_read_again()
    {
        var file = RunFile("  eval_dataset: ./eval.jsonl\n");
        File.Copy(Path.Combine(_dir, "train.jsonl"), Path.Combine(_dir, "eval.jsonl"));
        var run = Check(file).Run!;
        File.Delete(Path.Combine(_dir, "eval.jsonl"));

        var result = Trainer.Run(run);

        Assert.NotNull(result.EvalLossBefore);
        Assert.NotNull(result.EvalLoss);
    }

    [Fact]
    public void An_eval_dataset_that_tokenises_to_nothing_is_found_by_the_check()
    {
        var file = RunFile("  eval_dataset: ./eval.jsonl\n");
        File.WriteAllText(Path.Combine(_dir, "eval.jsonl"), "{\"prompt\": \"only a prompt\", \"completion\": \"\"}\n");

        var finding = Assert.Single(Check(file).Findings, f => f.Severity == ConfigSeverity.Error);

        Assert.Equal("training.eval_dataset", finding.Field);
    }

    [Fact]
    public void An_override_replaces_the_files_value_and_is_checked_like_one()
    {
        var file = RunFile("  learning_rate: -5\n");

        var fileValue = Assert.Single(Check(file).Findings);
        var replaced = Check(file, new RunOverrides { LearningRate = 0.01, Parameters = Parameters });
        var bad = Assert.Single(Check(file, new RunOverrides { LearningRate = 0, Parameters = Parameters }).Findings);

        Assert.Equal(("training.learning_rate", 10), (fileValue.Field, fileValue.Line!.Value));
        Assert.Empty(replaced.Findings);
        Assert.Equal(0.01, replaced.Run!.Training.LearningRate);
        Assert.Equal(ConfigSeverity.Error, bad.Severity);
        Assert.Equal("-LearningRate", bad.Field);
        Assert.Null(bad.Line);
        Assert.Equal("error: -LearningRate: -LearningRate is 0; it must be greater than 0.", bad.ToString());
    }

    [Fact]
    public void A_file_value_that_cannot_be_read_stays_a_file_error_at_its_line_when_overridden()
    {
        var file = RunFile("  learning_rate: fast\n");

        var finding = Assert.Single(Check(file, new RunOverrides { LearningRate = 0.01, Parameters = Parameters }).Findings);

        Assert.Equal(("training.learning_rate", 10), (finding.Field, finding.Line!.Value));
        Assert.Contains("fast", finding.Message);
    }

    [Fact]
    public void A_model_override_that_is_no_model_folder_is_reported_under_the_parameter()
    {
        var finding = Assert.Single(Check(RunFile(), new RunOverrides { BaseModel = Path.Combine(_dir, "nowhere"), Parameters = Parameters }).Findings);

        Assert.Equal("-Model", finding.Field);
        Assert.Contains("does not exist", finding.Message);
    }

    [Fact]
    public void An_epochs_override_is_not_beaten_by_the_files_max_steps()
    {
        var run = Check(RunFile(), new RunOverrides { NumTrainEpochs = 2 }).Run!;

        Assert.Null(run.Training.MaxSteps);
        Assert.Equal(2, run.Training.NumTrainEpochs);
    }

    [Fact]
    public void A_missing_setting_is_an_error_for_training_and_a_warning_for_a_check()
    {
        var path = Path.Combine(_dir, "template.yaml");
        File.WriteAllText(path, "trainable_tokens:\n  token_indices: [5]\n");

        var forTraining = Check(path).Findings;
        var forCheck = Check(path, forTraining: false).Findings;

        Assert.Equal(new[] { "training.base_model", "training.dataset", "training.output_dir" }, forTraining.Select(f => f.Field).Order());
        Assert.All(forTraining, f => Assert.Equal(ConfigSeverity.Error, f.Severity));
        Assert.All(forCheck, f => Assert.Equal(ConfigSeverity.Warning, f.Severity));
        Assert.Equal(forTraining.Select(f => f.Message), forCheck.Select(f => f.Message));
        Assert.Contains("-Model", forTraining.Single(f => f.Field == "training.base_model").Message);
    }

    [Fact]
    public void Resuming_a_folder_with_only_a_final_adapter_is_refused_before_training_and_not_suggested()
    {
        var file = RunFile();
        Trainer.Run(Check(file).Run!);
        // As an adapter alone (copied in, or its checkpoints deleted): nothing there to resume.
        foreach (var checkpoint in Directory.GetDirectories(Path.Combine(_dir, "out"), "checkpoint-*")) Directory.Delete(checkpoint, recursive: true);

        var again = Assert.Single(Check(file).Findings);
        var resume = Assert.Single(Check(file, new RunOverrides { ResumeFromCheckpoint = "latest" }).Findings);

        Assert.Equal("training.output_dir", again.Field);
        Assert.DoesNotContain("resume", again.Message);
        Assert.Equal("training.resume_from_checkpoint", resume.Field);
        Assert.Contains("no complete checkpoint-N folder", resume.Message);
    }

    [Fact]
    public void A_checkpoint_of_another_seed_is_refused_by_the_check_under_the_parameter()
    {
        var file = RunFile("  save_steps: 1\n");
        Trainer.Run(Check(file).Run!);

        var finding = Assert.Single(Check(file, new RunOverrides { ResumeFromCheckpoint = "latest", Seed = 3, Parameters = Parameters }).Findings);

        Assert.Equal("training.resume_from_checkpoint", finding.Field);
        Assert.Contains("seed", finding.Message);
    }

    [Fact]
    public void Weights_that_do_not_fit_the_config_are_found_by_the_check_not_first_by_training()
    {
        var model = Path.Combine(_dir, "model");
        Directory.CreateDirectory(model);
        foreach (var f in Directory.GetFiles(Llama3)) File.Copy(f, Path.Combine(model, Path.GetFileName(f)));
        var config = Path.Combine(model, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3"));

        var finding = Assert.Single(Check(RunFile(), new RunOverrides { BaseModel = model, Parameters = Parameters }).Findings, f => f.Severity == ConfigSeverity.Error);

        Assert.Equal("-Model", finding.Field);
        Assert.Contains("has no tensor 'model.layers.2.", finding.Message);
    }
}
