using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Tests.IO;

namespace TrainableTokens.Core.Tests.Configuration;

/// <summary>The model-aware checks before a run, on a tiny model, a dataset and an output folder made per test.</summary>
public sealed class PreflightTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public PreflightTests()
    {
        TinyModelFactory.Create(_folder.File("llama"), new TinyModelSpec { ModelType = "llama", Seed = 1 });
        Directory.CreateDirectory(_folder.File("data"));
        File.WriteAllLines(_folder.File("data/train.jsonl"),
        [
            """{"text": "hello <think> world"}""",
            """{"prompt": "Q?", "completion": " A."}""",
            """{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}""",
        ]);
    }

    public void Dispose() => _folder.Dispose();

    /// <summary>Writes a run file into the test folder (relative paths in it resolve there) and runs the preflight.</summary>
    private PreflightReport Check(string trainableTokens, string training, bool tokenize = false, string? model = null)
    {
        var path = _folder.File("run.yaml");
        File.WriteAllText(path, $"trainable_tokens:\n{trainableTokens}training:\n  base_model: ./llama\n  dataset: ./data/train.jsonl\n  output_dir: ./out\n  max_seq_length: 64\n{training}");
        return RunPreflight.Check(new PreflightRequest(RunConfig.Load(path)) { TokenizeDataset = tokenize, ModelFolder = model });
    }

    [Fact]
    public void A_good_run_passes_and_says_what_it_could_not_check()
    {
        var report = Check("  token_indices: [120, 127]\n", "");

        Assert.Empty(report.Findings);
        Assert.Contains(report.Skipped, s => s.Contains("tokenisation"));
    }

    [Fact]
    public void A_token_id_past_the_vocabulary_is_an_error_at_its_line()
    {
        var report = Check("  token_indices:\n    - 5\n    - 128\n", "");

        var finding = Assert.Single(report.Findings);
        Assert.Equal(ConfigSeverity.Error, finding.Severity);
        Assert.Equal("trainable_tokens.token_indices[1]", finding.Field);
        Assert.Equal(4, finding.Line);
        Assert.Contains("ids 0 to 127", finding.Message);
    }

    [Theory]
    [InlineData("[embed_tokens]", null)]
    [InlineData("model.embed_tokens", null)]
    [InlineData("'model\\.embed_.*'", null)]
    [InlineData("[embed_tokens, lm_head]", null)]   // PEFT's form for training an untied head's rows too
    [InlineData("'model\\.embed_tokens|lm_head'", null)]
    [InlineData("[lm_head]", null)]
    [InlineData("[q_proj]", "not the input embedding or the LM head")]
    [InlineData("[embed_tokens, q_proj]", "not the input embedding or the LM head")]
    [InlineData("[embed]", "matches no module")]
    [InlineData("embed_tokens", "matches no module")]   // a string must match the whole path (PEFT's regex rule)
    [InlineData("'(['", "not a valid regular expression")]
    public void Target_modules_must_select_the_input_embedding_or_the_head(string targets, string? error)
    {
        var report = Check($"  token_indices: [5]\n  target_modules: {targets}\n", "");

        if (error is null) Assert.Empty(report.Findings);
        else Assert.Contains(error, Assert.Single(report.Findings).Message);
    }

    [Theory]
    [InlineData("[embed_tokens, lm_head]", null)]   // PEFT ties the head's layer to the embedding's: one set of rows
    [InlineData("[lm_head]", "selects only 'lm_head', which this model ties to 'model.embed_tokens'")]
    public void A_tied_model_trains_its_head_through_the_embedding(string targets, string? error)
    {
        TinyModelFactory.Create(_folder.File("tied"), new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true });

        var report = Check($"  token_indices: [5]\n  target_modules: {targets}\n", "", model: _folder.File("tied"));

        if (error is null) Assert.Empty(report.Findings);
        else Assert.Contains(error, Assert.Single(report.Findings).Message);
    }

    [Fact]
    public void A_gpt2_model_has_its_embedding_at_transformer_wte()
    {
        TinyModelFactory.Create(_folder.File("gpt2"), new TinyModelSpec { ModelType = "gpt2" });

        var ok = Check("  token_indices: [5]\n  target_modules: [wte]\n", "", model: _folder.File("gpt2"));
        var wrong = Check("  token_indices: [5]\n  target_modules: [embed_tokens]\n", "", model: _folder.File("gpt2"));

        Assert.Empty(ok.Findings);
        Assert.Contains("'transformer.wte'", Assert.Single(wrong.Findings).Message);
    }

    [Fact]
    public void Cuda_on_the_cpu_build_is_an_error_and_float16_on_the_cpu_a_warning()
    {
        var cuda = Assert.Single(Check("  token_indices: [5]\n", "  device: cuda:0\n").Findings);
        var half = Assert.Single(Check("  token_indices: [5]\n", "  dtype: float16\n").Findings);

        Assert.Equal(("training.device", ConfigSeverity.Error), (cuda.Field, cuda.Severity));
        Assert.Contains("cpu build", cuda.Message);
        Assert.Equal(("training.dtype", ConfigSeverity.Warning), (half.Field, half.Severity));
    }

    [Fact]
    public void A_dataset_line_without_a_usable_example_is_reported_with_its_line_number()
    {
        File.WriteAllLines(_folder.File("data/train.jsonl"),
            ["""{"text": "fine"}""", "", """{"prompt": "no completion"}""", "not json", """{"messages": []}""", """{"label": 1}"""]);

        var findings = Check("  token_indices: [5]\n", "").Findings;

        Assert.Equal(4, findings.Count);
        Assert.All(findings, f => Assert.Equal(("training.dataset", 5), (f.Field, f.Line!.Value)));
        Assert.Contains("train.jsonl line 3: has \"prompt\" but no \"completion\"", findings[0].Message);
        Assert.Contains("train.jsonl line 4: not valid JSON", findings[1].Message);
        Assert.Contains("train.jsonl line 5: \"messages\" must be a non-empty list", findings[2].Message);
        Assert.Contains("train.jsonl line 6: has none of", findings[3].Message);
    }

    [Fact]
    public void A_missing_or_empty_dataset_is_an_error()
    {
        var config = RunConfig.FromYaml("trainable_tokens:\n  token_indices: [5]\ntraining:\n  dataset: nowhere.jsonl\n");
        var missing = Assert.Single(RunPreflight.Check(new PreflightRequest(config) { BaseDirectory = _folder.Path }).Findings, f => f.Severity == ConfigSeverity.Error);
        File.WriteAllText(_folder.File("data/train.jsonl"), "\n\n");
        var empty = Assert.Single(Check("  token_indices: [5]\n", "").Findings);

        Assert.Contains("does not exist", missing.Message);
        Assert.Contains("is empty", empty.Message);
    }

    [Fact]
    public void Without_a_tokenizer_the_dataset_cannot_be_tokenised_and_the_run_is_not_prepared()
    {
        var report = Check("  token_indices: [5]\n", "", tokenize: true);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(("training.dataset", ConfigSeverity.Error), (finding.Field, finding.Severity));
        Assert.Contains("no tokenizer.json", finding.Message);
        Assert.Null(report.Run);
    }

    [Fact]
    public void A_non_empty_output_folder_is_not_overwritten_silently()
    {
        Directory.CreateDirectory(_folder.File("out"));
        File.WriteAllText(_folder.File("out/adapter_config.json"), "{}");

        var refused = Assert.Single(Check("  token_indices: [5]\n", "").Findings);
        var allowed = Check("  token_indices: [5]\n", "  overwrite_output_dir: true\n");
        var resumeWithoutCheckpoint = Assert.Single(Check("  token_indices: [5]\n", "  resume_from_checkpoint: latest\n").Findings);

        Assert.Equal(("training.output_dir", 6), (refused.Field, refused.Line!.Value));
        Assert.Contains("overwrite_output_dir: true", refused.Message);
        Assert.Empty(allowed.Findings);
        Assert.Contains("no complete checkpoint-N folder", resumeWithoutCheckpoint.Message);
        Assert.DoesNotContain("resume_from_checkpoint", refused.Message);
    }

    [Fact]
    public void A_sequence_length_past_the_models_positions_is_a_warning()
    {
        var config = new RunConfig
        {
            TrainableTokens = new TrainableTokensConfig { TokenIndices = [5] },
            Training = new TrainingConfig { BaseModel = _folder.File("llama"), MaxSeqLength = 512 },
        };

        var finding = Assert.Single(RunPreflight.Check(new PreflightRequest(config)).Findings, f => f.Field == "training.max_seq_length");

        Assert.Equal(("training.max_seq_length", ConfigSeverity.Warning), (finding.Field, finding.Severity));
        Assert.Contains("at most 128 positions", finding.Message);
    }

    [Fact]
    public void A_missing_model_folder_is_an_error_at_base_model()
    {
        var finding = Assert.Single(Check("  token_indices: [5]\n", "", model: _folder.File("nowhere")).Findings);

        Assert.Equal("training.base_model", finding.Field);
        Assert.Contains("does not exist", finding.Message);
    }

    [Fact]
    public void Schema_errors_and_model_errors_are_reported_together_in_file_order()
    {
        File.WriteAllText(_folder.File("data/train.jsonl"), "{\"nothing\": 1}\n");

        var findings = Check("  token_indices: [-1, 500]\n", "  learnig_rate: 0.1\n  device: cuda\n").Findings;

        Assert.Equal(
            new[] { "trainable_tokens.token_indices[0]", "trainable_tokens.token_indices[1]", "training.dataset", "training.learnig_rate", "training.device" },
            findings.Select(f => f.Field));
        Assert.Equal(new int?[] { 2, 2, 5, 8, 9 }, findings.Select(f => f.Line));
    }
}
