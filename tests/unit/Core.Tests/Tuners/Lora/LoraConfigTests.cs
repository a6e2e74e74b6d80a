using System.Linq;
using System.Text.Json.Nodes;
using TrainableTokens.Core.Tuners.Lora;

namespace TrainableTokens.Core.Tests.Tuners.Lora;

/// <summary>adapter_config.json for LoRA: PEFT's fields read strictly, every problem reported, PEFT's names written.</summary>
public sealed class LoraConfigTests
{
    // As PEFT 0.17's save_pretrained writes a LoraConfig (sorted keys), with trainable tokens as a map.
    private const string PeftWritten = """
    {
      "alpha_pattern": {},
      "auto_mapping": null,
      "base_model_name_or_path": "Qwen/Qwen3-0.6B",
      "bias": "none",
      "corda_config": null,
      "eva_config": null,
      "exclude_modules": null,
      "fan_in_fan_out": false,
      "inference_mode": true,
      "init_lora_weights": true,
      "layer_replication": null,
      "layers_pattern": null,
      "layers_to_transform": null,
      "loftq_config": {},
      "lora_alpha": 32,
      "lora_bias": false,
      "lora_dropout": 0.05,
      "megatron_config": null,
      "megatron_core": "megatron.core",
      "modules_to_save": null,
      "peft_type": "LORA",
      "qalora_group_size": 16,
      "r": 16,
      "rank_pattern": {"q_proj": 8},
      "revision": null,
      "target_modules": ["v_proj", "q_proj"],
      "target_parameters": null,
      "task_type": "CAUSAL_LM",
      "trainable_token_indices": {"embed_tokens": [5, 6]},
      "use_dora": false,
      "use_qalora": false,
      "use_rslora": false
    }
    """;

    [Fact]
    public void Reads_PEFTs_file_with_every_field()
    {
        var c = LoraConfig.FromJson(PeftWritten, "adapter_config.json");
        Assert.Equal(16, c.R);
        Assert.Equal(32, c.LoraAlpha);
        Assert.Equal(0.05, c.LoraDropout);
        Assert.Equal(new[] { "v_proj", "q_proj" }, c.TargetModules!.Names);
        Assert.Equal("none", c.Bias);
        Assert.Equal(LoraInit.Default, c.InitLoraWeights);
        Assert.Equal(8, c.RankFor("model.layers.0.self_attn.q_proj"));
        Assert.Equal(16, c.RankFor("model.layers.0.self_attn.v_proj"));
        Assert.Null(c.TrainableTokenIndices);
        Assert.Equal("embed_tokens", c.TrainableTokenIndicesByModule!.Single().Key);
        Assert.Equal(new long[] { 5, 6 }, c.TrainableTokenIndicesByModule!.Single().Value);
        Assert.Equal("Qwen/Qwen3-0.6B", c.BaseModelNameOrPath);
        Assert.Equal(2.0, c.Scaling(16, 32));
    }

    [Fact]
    public void Writing_keeps_PEFTs_names_and_values_and_reads_back_the_same()
    {
        var c = LoraConfig.FromJson(PeftWritten, "adapter_config.json");
        var json = c.ToJson();
        var written = JsonNode.Parse(json)!.AsObject();
        var original = JsonNode.Parse(PeftWritten)!.AsObject();
        Assert.Equal(original.Select(kv => kv.Key).OrderBy(k => k, System.StringComparer.Ordinal)
            .Append("ensure_weight_tying").OrderBy(k => k, System.StringComparer.Ordinal), written.Select(kv => kv.Key));
        foreach (var (key, value) in original)
            Assert.True(JsonNode.DeepEquals(value, written[key]), $"{key}: {value?.ToJsonString()} became {written[key]?.ToJsonString()}");
        Assert.Contains("\n  \"r\": 16,", json.Replace("\r\n", "\n"));
        var again = LoraConfig.FromJson(json, "x");
        Assert.Equal(json, again.ToJson());
    }

    [Theory]
    [InlineData("\"all-linear\"", true)]
    [InlineData("\".*\\\\.(q|v)_proj\"", false)]
    public void Target_modules_can_be_all_linear_or_a_regex(string value, bool allLinear)
    {
        var c = LoraConfig.FromJson($$"""{"peft_type": "LORA", "target_modules": {{value}}}""", "a.json");
        Assert.Equal(allLinear, c.TargetModules!.IsAllLinear);
        Assert.False(c.TargetModules.IsList);
    }

    [Fact]
    public void Init_and_token_indices_in_their_other_forms()
    {
        var c = LoraConfig.FromJson("""{"peft_type": "LORA", "init_lora_weights": "Gaussian", "use_rslora": true, "trainable_token_indices": [3, 1], "layers_to_transform": 1, "layers_pattern": "layers"}""", "a.json");
        Assert.Equal(LoraInit.Gaussian, c.InitLoraWeights);
        Assert.True(c.UseRslora);
        Assert.Equal(new long[] { 3, 1 }, c.TrainableTokenIndices);
        Assert.Equal(new[] { 1 }, c.LayersToTransform);
        Assert.Equal(new[] { "layers" }, c.LayersPattern);
        Assert.Equal(LoraInit.Random, LoraConfig.FromJson("""{"peft_type": "LORA", "init_lora_weights": false}""", "a").InitLoraWeights);
    }

    [Fact]
    public void Every_bad_field_is_reported_in_one_error()
    {
        const string json = """
        {
          "peft_type": "LORA",
          "r": 0,
          "lora_alpha": "sixteen",
          "lora_dropout": 1.5,
          "target_modules": ["q_proj", 3],
          "use_rslora": "yes",
          "bias": "all",
          "init_lora_weights": "pissa",
          "layers_to_transform": [-1],
          "rank_pattern": {"q_proj": 0},
          "alpha_pattern": {"v_proj": "x"},
          "modules_to_save": ["lm_head", 7],
          "trainable_token_indices": [1, 1, -2],
          "use_dora": true,
          "fan_in_fan_out": true
        }
        """;
        var e = Assert.Throws<InvalidAdapterException>(() => LoraConfig.FromJson(json, "bad/adapter_config.json"));
        var findings = Assert.IsType<InvalidConfigException>(e.InnerException).Findings;
        var fields = findings.Select(f => f.Field).ToList();
        Assert.Equal(new[]
        {
            "r", "lora_alpha", "lora_dropout", "target_modules[1]", "use_rslora", "bias", "init_lora_weights", "layers_to_transform[0]",
            "rank_pattern.q_proj", "alpha_pattern.v_proj", "modules_to_save[1]", "trainable_token_indices[1]", "trainable_token_indices[2]",
            "fan_in_fan_out", "use_dora",
        }, fields);
        Assert.All(findings, f => Assert.Equal("bad/adapter_config.json", f.Source));
        Assert.Contains("bad/adapter_config.json", e.Message);
        Assert.Contains("only \"none\" is supported", e.Message);
        Assert.Contains("must be a module name", findings.Single(f => f.Field == "modules_to_save[1]").Message);
    }

    [Theory]
    [InlineData("""{"peft_type": "TRAINABLE_TOKENS", "token_indices": [1]}""", "peft_type")]
    [InlineData("""{"r": 8}""", "peft_type")]
    [InlineData("""{"peft_type": "LORA", "target_modules": 5}""", "target_modules")]
    [InlineData("""{"peft_type": "LORA", "target_modules": "(unclosed"}""", "target_modules")]
    [InlineData("""{"peft_type": "LORA", "exclude_modules": "all-linear"}""", "exclude_modules")]
    [InlineData("""{"peft_type": "LORA", "r": 2.5}""", "r")]
    [InlineData("""{"peft_type": "LORA", "layer_replication": [[0, 1]]}""", "layer_replication")]
    [InlineData("""{"peft_type": "LORA", "trainable_token_indices": {"embed_tokens": 3}}""", "trainable_token_indices.embed_tokens")]
    [InlineData("""{"peft_type": "LORA", "target_modules": "all-linear", "layers_to_transform": [0]}""", "layers_to_transform")]
    [InlineData("""{"peft_type": "LORA", "target_modules": ".*q_proj", "layers_pattern": "layers"}""", "layers_pattern")]
    [InlineData("""{"peft_type": "LORA", "target_modules": ["q_proj"], "layers_pattern": "layers"}""", "layers_pattern")]
    public void A_single_problem_names_its_field(string json, string field)
    {
        var e = Assert.Throws<InvalidAdapterException>(() => LoraConfig.FromJson(json, "a.json"));
        Assert.Equal(field, Assert.IsType<InvalidConfigException>(e.InnerException).Findings.Single().Field);
    }

    [Fact]
    public void Not_json_is_an_adapter_error()
    {
        Assert.Throws<InvalidAdapterException>(() => LoraConfig.FromJson("{", "a.json"));
        Assert.Throws<InvalidAdapterException>(() => LoraConfig.FromJson("[1]", "a.json"));
    }
}
