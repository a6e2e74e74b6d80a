using System;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Tests.IO;
using TrainableTokens.Core.Tuners.Lora;
using TunerConfig = TrainableTokens.Core.Tuners.Lora.LoraConfig;

namespace TrainableTokens.Core.Tests.Configuration;

/// <summary>A run file's lora section: read, checked on its own (every problem at once), checked against the model,
/// and handed to the LoRA tuner with PEFT's meaning.</summary>
public sealed class LoraRunFileTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public LoraRunFileTests()
    {
        TinyModelFactory.Create(_folder.File("llama"), new TinyModelSpec { ModelType = "llama", Seed = 1 });
        TinyModelFactory.Create(_folder.File("untied"), new TinyModelSpec { ModelType = "llama", Seed = 1, TieWordEmbeddings = false });
        TinyModelFactory.Create(_folder.File("tied"), new TinyModelSpec { ModelType = "llama", Seed = 1, TieWordEmbeddings = true });
        Directory.CreateDirectory(_folder.File("data"));
        File.WriteAllLines(_folder.File("data/train.jsonl"), ["""{"text": "hello world"}""", """{"text": "hello again"}"""]);
    }

    public void Dispose() => _folder.Dispose();

    private static RunConfig Read(string yaml) => RunConfig.FromYaml(yaml, "run.yaml");

    private PreflightReport Check(string lora, string model = "./llama")
    {
        var path = _folder.File("run.yaml");
        File.WriteAllText(path, $"lora:\n{lora}training:\n  base_model: {model}\n  dataset: ./data/train.jsonl\n  output_dir: ./out\n  max_seq_length: 64\n");
        return RunPreflight.Check(new PreflightRequest(RunConfig.Load(path)) { TokenizeDataset = false });
    }

    [Fact]
    public void A_lora_section_maps_every_peft_field_to_the_tuner_config()
    {
        var run = Read("""
            lora:
              r: 16
              lora_alpha: 32
              lora_dropout: 0.05
              target_modules: [q_proj, v_proj]
              exclude_modules: "model\\.layers\\.1\\..*"
              use_rslora: true
              init_lora_weights: Gaussian
              layers_to_transform: [0, 1]
              layers_pattern: layers
              rank_pattern: {v_proj: 4}
              alpha_pattern: {v_proj: 2.5}
              trainable_token_indices: {embed_tokens: [5, 6], lm_head: [5, 6]}
              ensure_weight_tying: true
            """);
        Assert.Empty(run.Validate());
        Assert.Equal("lora", run.Method);
        var config = run.Lora!.ToTunerConfig("/models/x");
        Assert.Equal(16, config.R);
        Assert.Equal(32, config.LoraAlpha);
        Assert.Equal(0.05, config.LoraDropout);
        Assert.Equal(new[] { "q_proj", "v_proj" }, config.TargetModules!.Names);
        Assert.Equal(@"model\.layers\.1\..*", config.ExcludeModules!.Pattern);
        Assert.True(config.UseRslora);
        Assert.Equal(LoraInit.Gaussian, config.InitLoraWeights);
        Assert.Equal(new[] { 0, 1 }, config.LayersToTransform);
        Assert.Equal(new[] { "layers" }, config.LayersPattern);
        Assert.Equal(4, config.RankFor("model.layers.0.self_attn.v_proj"));
        Assert.Equal(16, config.RankFor("model.layers.0.self_attn.q_proj"));
        Assert.Equal(2.5, config.AlphaFor("model.layers.0.self_attn.v_proj"));
        Assert.Null(config.TrainableTokenIndices);
        Assert.Equal(new[] { "embed_tokens", "lm_head" }, config.TrainableTokenIndicesByModule!.Select(m => m.Key));
        Assert.Equal(new long[] { 5, 6 }, config.TrainableTokenIndicesByModule![1].Value);
        Assert.True(config.EnsureWeightTying);
        Assert.Equal("/models/x", config.BaseModelNameOrPath);
        Assert.Equal(new long[] { 5, 6 }, run.Lora.TokenIds());
        // The adapter_config.json it becomes reads back as the same config (PEFT's names both ways).
        Assert.Equal(config.ToJson(), TunerConfig.FromJson(config.ToJson(), "adapter_config.json").ToJson());
    }

    [Fact]
    public void Defaults_are_peft_defaults_and_a_list_of_token_ids_is_the_embedding()
    {
        var config = Read("lora:\n  trainable_token_indices: [7, 9]\n").Lora!.ToTunerConfig();
        Assert.Equal(8, config.R);
        Assert.Equal(8, config.LoraAlpha);
        Assert.Equal(0, config.LoraDropout);
        Assert.Null(config.TargetModules);
        Assert.Equal("none", config.Bias);
        Assert.Equal(LoraInit.Default, config.InitLoraWeights);
        Assert.Equal(new long[] { 7, 9 }, config.TrainableTokenIndices);
        Assert.Equal(LoraInit.Random, Read("lora:\n  init_lora_weights: false\n").Lora!.ToTunerConfig().InitLoraWeights);
        Assert.True(Read("lora:\n  target_modules: all-linear\n").Lora!.ToTunerConfig().TargetModules!.IsAllLinear);
    }

    [Fact]
    public void A_run_file_without_a_method_or_with_both_is_an_error_naming_the_fix()
    {
        var none = Assert.Single(Read("training:\n  seed: 1\n").Validate());
        Assert.Equal(ConfigSeverity.Error, none.Severity);
        Assert.Contains("trainable_tokens section", none.Message);
        Assert.Contains("lora section", none.Message);

        var both = Assert.Single(Read("trainable_tokens:\n  token_indices: [1]\nlora:\n  r: 4\n").Validate());
        Assert.Equal("lora", both.Field);
        Assert.Contains("trainable_token_indices", both.Message);
    }

    [Fact]
    public void Every_problem_of_a_lora_section_is_reported_at_once_with_its_field_and_line()
    {
        var findings = Read("""
            lora:
              r: 0
              lora_alpha: 0
              lora_dropout: 1
              bias: all
              init_lora_weights: pissa
              rank_pattern: {q_proj: 0}
              alpha_pattern: {q_proj: fast}
              modules_to_save: [""]
              trainable_token_indices: [5, -1, 5]
              target_modules: "(unclosed"
            """).Validate().Where(f => f.Severity == ConfigSeverity.Error).ToList();
        foreach (var (field, text, line) in new[]
        {
            ("lora.r", "1 or more", 2), ("lora.lora_alpha", "greater than 0", 3), ("lora.lora_dropout", "less than 1", 4), ("lora.bias", "bias: none", 5),
            ("lora.init_lora_weights", "gaussian", 6), ("lora.rank_pattern", "q_proj: 0", 7), ("lora.alpha_pattern", "q_proj: \"fast\"", 8),
            ("lora.modules_to_save", "empty name", 9), ("lora.trainable_token_indices", "-1", 10), ("lora.trainable_token_indices", "more than once", 10),
            ("lora.target_modules", "not a valid regular expression", 11),
        })
            Assert.True(findings.Any(f => f.Field == field && f.Message.Contains(text) && f.Line == line),
                $"{field} '{text}' at line {line} not in: {string.Join(" | ", findings.Select(f => $"{f.Field}@{f.Line}: {f.Message}"))}");
        Assert.Equal(11, findings.Count);
    }

    [Theory]
    [InlineData("  trainable_token_indices: 5\n", "lora.trainable_token_indices", "a list or a mapping")]
    [InlineData("  trainable_token_indices: {embed_tokens: 5}\n", "lora.trainable_token_indices", "embed_tokens is 5")]
    [InlineData("  trainable_token_indices: []\n", "lora.trainable_token_indices", "is empty")]
    [InlineData("  layers_to_transform: [0]\n  target_modules: \".*q_proj\"\n", "lora.layers_to_transform", "target_modules is the string")]
    [InlineData("  layers_pattern: layers\n", "lora.layers_pattern", "layers_to_transform is not")]
    [InlineData("  exclude_modules: all-linear\n", "lora.exclude_modules", "cannot be all-linear")]
    [InlineData("  use_dora: true\n", "lora.use_dora", "use_rslora")]
    [InlineData("  rank_pattern: [4]\n", "lora.rank_pattern", "mapping")]
    public void A_lora_field_of_the_wrong_shape_is_an_error_naming_it(string lora, string field, string text)
    {
        var errors = Read("lora:\n" + lora).Validate().Where(f => f.Severity == ConfigSeverity.Error).ToList();
        Assert.Contains(errors, f => f.Field == field && f.Message.Contains(text));
    }

    [Fact]
    public void A_lora_run_file_written_and_read_back_is_the_same()
    {
        var run = Read("lora:\n  r: 4\n  target_modules: [q_proj]\n  rank_pattern: {q_proj: 2}\n  trainable_token_indices: {embed_tokens: [5]}\n  init_lora_weights: gaussian\ntraining:\n  seed: 3\n");
        var text = run.ToRunFile();
        Assert.DoesNotContain("trainable_tokens:", text);
        var again = RunConfig.FromYaml(text, "again.yaml");
        Assert.Empty(again.Validate());
        Assert.Equal(run.Lora!.ToTunerConfig().ToJson(), again.Lora!.ToTunerConfig().ToJson());
    }

    [Fact]
    public void A_good_lora_run_passes_the_preflight_and_is_prepared_for_the_lora_tuner()
    {
        var report = Check("  r: 4\n  target_modules: [q_proj, v_proj]\n  trainable_token_indices: [120, 127]\n");
        Assert.Empty(report.Findings);
    }

    [Fact]
    public void Targets_that_match_nothing_are_an_error_listing_the_projections_that_exist()
    {
        var finding = Assert.Single(Check("  target_modules: [qkv]\n").Findings);
        Assert.Equal("lora.target_modules", finding.Field);
        Assert.Equal(2, finding.Line);
        Assert.Contains("[qkv] was not found", finding.Message);
        Assert.Contains("model.layers.0.self_attn.q_proj", finding.Message);
        Assert.Contains("model.layers.0.mlp.down_proj", finding.Message);

        Assert.Contains("excluded by exclude_modules", Assert.Single(Check("  target_modules: [q_proj]\n  exclude_modules: [q_proj]\n").Findings).Message);
        Assert.Contains("layers_to_transform [5]", Assert.Single(Check("  target_modules: [q_proj]\n  layers_to_transform: [5]\n").Findings).Message);
        Assert.Contains("LoRA on the embedding", Assert.Single(Check("  target_modules: [embed_tokens]\n").Findings).Message);
    }

    [Fact]
    public void Token_ids_past_the_vocabulary_and_modules_that_are_not_the_embedding_or_head_are_errors()
    {
        var past = Assert.Single(Check("  trainable_token_indices: [5, 128, 300]\n").Findings);
        Assert.Equal("lora.trainable_token_indices", past.Field);
        Assert.Contains("128, 300 are not in the model's vocabulary (ids 0 to 127)", past.Message);

        var module = Assert.Single(Check("  trainable_token_indices: {q_proj: [5]}\n").Findings);
        Assert.Contains("'q_proj', which is not this llama model's input embedding ('model.embed_tokens')", module.Message);
    }

    [Fact]
    public void Peft_tied_weight_rules_are_errors_or_warnings_as_peft_has_them()
    {
        // Tied model, different rows for embedding and head: kept separate, unless ensure_weight_tying asks for tying.
        Assert.Empty(Check("  trainable_token_indices: {embed_tokens: [5], lm_head: [6]}\n", "./tied").Findings);
        var tied = Assert.Single(Check("  trainable_token_indices: {embed_tokens: [5], lm_head: [6]}\n  ensure_weight_tying: true\n", "./tied").Findings);
        Assert.Equal(ConfigSeverity.Error, tied.Severity);
        Assert.Contains("ensure_weight_tying", tied.Message);
        // Only the head of a tied model: its rows would be the embedding's too.
        Assert.Contains("names only the LM head", Assert.Single(Check("  trainable_token_indices: {lm_head: [5]}\n", "./tied").Findings).Message);
        // On an untied model the head's own rows are fine.
        Assert.Empty(Check("  trainable_token_indices: {lm_head: [5]}\n", "./untied").Findings);
        // An untied model with ensure_weight_tying: a warning, as PEFT warns.
        var untied = Assert.Single(Check("  trainable_token_indices: [5]\n  ensure_weight_tying: true\n", "./untied").Findings);
        Assert.Equal(ConfigSeverity.Warning, untied.Severity);
        Assert.Equal("lora.ensure_weight_tying", untied.Field);
    }

    [Fact]
    public void A_rank_above_a_layers_size_and_a_pattern_key_that_matches_no_target_are_warnings()
    {
        var rank = Assert.Single(Check("  r: 40\n  target_modules: [v_proj]\n").Findings);
        Assert.Equal(ConfigSeverity.Warning, rank.Severity);
        Assert.Equal("lora.r", rank.Field);
        Assert.Contains("above the layer's smaller size (32)", rank.Message);

        var unused = Assert.Single(Check("  target_modules: [q_proj]\n  rank_pattern: {k_proj: 2}\n").Findings);
        Assert.Equal("lora.rank_pattern", unused.Field);
        Assert.Contains("'k_proj'", unused.Message);
    }

    [Theory]
    [InlineData("llama", "[q_proj, v_proj]", null, null)]
    [InlineData("llama", "all-linear", null, null)]
    [InlineData("llama", "model\\.layers\\.1\\.mlp\\..*", null, null)]
    [InlineData("llama", "[q_proj, down_proj]", "[down_proj]", null)]
    [InlineData("llama", "[q_proj, o_proj]", null, "[1]")]
    [InlineData("phi3", "all-linear", null, null)]
    [InlineData("qwen3", "[k_proj, up_proj]", "model\\.layers\\.0\\..*", null)]
    public void The_preflight_resolves_the_same_targets_as_the_lora_model(string modelType, string targets, string? exclude, string? layers)
    {
        var yaml = $"lora:\n  target_modules: {(targets.StartsWith('[') || targets == "all-linear" ? targets : $"\"{targets.Replace("\\", "\\\\")}\"")}\n" +
            (exclude is null ? "" : $"  exclude_modules: {(exclude.StartsWith('[') ? exclude : $"\"{exclude.Replace("\\", "\\\\")}\"")}\n") +
            (layers is null ? "" : $"  layers_to_transform: {layers}\n");
        var section = Read(yaml);
        Assert.Empty(section.Validate());
        var config = section.Lora!.ToTunerConfig();
        var folder = _folder.File(modelType + "-model");
        TinyModelFactory.Create(folder, new TinyModelSpec { ModelType = modelType, Seed = 2 });
        var modelConfig = ModelConfigReader.ReadFolder(folder);
        using var model = ModelLoader.Load(folder, TorchSharp.torch.ScalarType.Float32, TorchSharp.torch.CPU);
        using var tuner = new LoraModel(model);
        Assert.Equal(tuner.ResolveTargets(config), LoraModelCheck.Resolve(config, modelConfig).Targets);
        Assert.Equal(model.LinearLayers.Paths, LoraModelCheck.Projections(modelConfig).Select(p => p.Path));
    }
}
