using System.Linq;
using System.Text.Json;
using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Generators.Tests;

/// <summary>YAML &lt;-&gt; object &lt;-&gt; PEFT's adapter_config.json, through the classes generated from src/Core/Schemas.</summary>
public class RoundTripTests
{
    /// <summary>What PEFT's save_pretrained writes for a Trainable Tokens adapter: json.dumps(indent=2, sort_keys=True).</summary>
    private const string PeftAdapterConfig = """
        {
          "auto_mapping": null,
          "base_model_name_or_path": "./models/tiny-llama",
          "inference_mode": true,
          "init_weights": true,
          "peft_type": "TRAINABLE_TOKENS",
          "peft_version": "0.17.0",
          "revision": null,
          "target_modules": [
            "embed_tokens"
          ],
          "task_type": "CAUSAL_LM",
          "token_indices": [
            5,
            6
          ]
        }
        """;

    [Fact]
    public void ToJson_writes_PEFTs_field_names_and_layout_byte_for_byte()
    {
        var config = new TrainableTokensConfig
        {
            TokenIndices = [5, 6],
            TargetModules = new[] { "embed_tokens" },
            InferenceMode = true,
            BaseModelNameOrPath = "./models/tiny-llama",
            PeftVersion = "0.17.0",
        };

        Assert.Equal(PeftAdapterConfig, config.ToJson());
    }

    [Fact]
    public void PEFT_json_reads_into_the_object_and_writes_back_unchanged()
    {
        var config = TrainableTokensConfig.FromJson(PeftAdapterConfig, "adapter_config.json");

        Assert.Empty(config.Validate());
        Assert.Equal(new[] { 5, 6 }, config.TokenIndices);
        Assert.Equal(new[] { "embed_tokens" }, config.TargetModules!.Items);
        Assert.True(config.InferenceMode);
        Assert.Equal(PeftAdapterConfig, config.ToJson());
    }

    [Fact]
    public void Keys_from_a_newer_PEFT_are_kept_on_a_read_write_round_trip()
    {
        var newer = PeftAdapterConfig.Replace("\"auto_mapping\": null,", """
            "auto_mapping": {"base_model_class": "LlamaForCausalLM", "parent_library": "transformers"},
              "a_future_option": {"z": [1, 2.5, "x"], "a": false},
              "ensure_weight_tying": true,
            """);

        var config = TrainableTokensConfig.FromJson(newer);

        Assert.Empty(config.Validate());
        Assert.Equal(new[] { "a_future_option", "ensure_weight_tying" }, config.ExtensionData.Keys.Order());
        Assert.True(config.ExtensionData["ensure_weight_tying"].GetBoolean());
        Assert.Equal("LlamaForCausalLM", config.AutoMapping!.Value.GetProperty("base_model_class").GetString());
        var written = config.ToJson();
        Assert.Contains("""
              "a_future_option": {
                "a": false,
                "z": [
                  1,
                  2.5,
                  "x"
                ]
              },
            """.Replace("\r", ""), written);
        Assert.Equal(config, TrainableTokensConfig.FromJson(written));
        Assert.Equal(written, TrainableTokensConfig.FromJson(written).ToJson());
    }

    [Fact]
    public void YAML_to_object_to_PEFT_json_to_object_keeps_every_setting()
    {
        var yaml = "token_indices: [120, 7]\ntarget_modules: 'model\\.embed_tokens'\ninit_weights: false\n";

        var fromYaml = TrainableTokensConfig.FromYaml(yaml);
        var fromJson = TrainableTokensConfig.FromJson(fromYaml.ToJson());

        Assert.Empty(fromYaml.Validate());
        Assert.Equal(fromYaml, fromJson);
        Assert.Equal("model\\.embed_tokens", fromJson.TargetModules!.Text);
        Assert.False(fromJson.InitWeights);
        Assert.Equal(yaml.Replace("'model\\.embed_tokens'", "\"model\\\\.embed_tokens\""), fromJson.ToYaml());
    }

    [Fact]
    public void A_run_file_round_trips_through_the_object()
    {
        const string yaml = """
            trainable_tokens:
              token_indices: [5, 6]
              target_modules: [embed_tokens, wte]
              init_weights: true
            training:
              base_model: ./models/tiny-llama
              dataset: "data with spaces/train.jsonl"
              output_dir: null
              learning_rate: 1e-05
              max_steps: 100
              device: cuda:1
              resume_from_checkpoint: latest
            """;

        var config = RunConfig.FromYaml(yaml);
        var written = config.ToYaml();
        var again = RunConfig.FromYaml(written);

        Assert.Empty(config.Validate());
        Assert.Equal(config, again);
        Assert.Equal(written, again.ToYaml());
        Assert.Contains("  learning_rate: 1e-05\n", written);
        Assert.Contains("  num_train_epochs: 3.0\n", written);
        Assert.Contains("  dataset: \"data with spaces/train.jsonl\"\n", written);
        Assert.Contains("  device: cuda:1\n", written);
        Assert.Contains("  target_modules: [embed_tokens, wte]\n", written);
        Assert.DoesNotContain("peft_type", written);
    }

    [Fact]
    public void Read_only_PEFT_fields_appear_in_YAML_only_when_changed()
    {
        var config = new TrainableTokensConfig { TokenIndices = [1], InferenceMode = true, TaskType = null };

        var yaml = config.ToYaml();

        Assert.Equal("token_indices: [1]\ntarget_modules: null\ninit_weights: true\ntask_type: null\ninference_mode: true\n", yaml);
        Assert.Equal(config, TrainableTokensConfig.FromYaml(yaml));
    }

    [Fact]
    public void A_run_file_as_JSON_nests_its_sections_with_sorted_keys()
    {
        var config = RunConfig.FromYaml("trainable_tokens:\n  token_indices: [5]\n");

        using var json = JsonDocument.Parse(config.ToJson());

        var sections = json.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(new[] { "trainable_tokens", "training" }, sections);
        var training = json.RootElement.GetProperty("training").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(training.Order(System.StringComparer.Ordinal), training);
        Assert.Equal(0.001, json.RootElement.GetProperty("training").GetProperty("learning_rate").GetDouble());
    }

    [Theory]
    [InlineData(0.001, "0.001")]
    [InlineData(1e-05, "1e-05")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(3.0, "3.0")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(1e16, "1e+16")]
    [InlineData(123456789012345.6, "123456789012345.6")]
    [InlineData(1.5e300, "1.5e+300")]
    [InlineData(0.0, "0.0")]
    public void Floats_are_written_as_Pythons_repr(double value, string python)
    {
        Assert.Equal(python, ConfigJsonWriter.PythonFloat(value));
    }

    [Fact]
    public void Non_ASCII_text_is_escaped_as_Pythons_json_does()
    {
        var config = new TrainableTokensConfig { TokenIndices = [1], BaseModelNameOrPath = "modèle/😀\"q\"" };

        Assert.Contains("\"base_model_name_or_path\": \"mod\\u00e8le/\\ud83d\\ude00\\\"q\\\"\"", config.ToJson());
        Assert.Equal(config, TrainableTokensConfig.FromJson(config.ToJson()));
    }

    [Fact]
    public void An_adapter_config_of_another_method_does_not_validate()
    {
        var lora = PeftAdapterConfig.Replace("TRAINABLE_TOKENS", "LORA");

        var finding = Assert.Single(TrainableTokensConfig.FromJson(lora, "adapter_config.json").Validate());

        Assert.Equal("peft_type", finding.Field);
        Assert.Equal(6, finding.Line);
        Assert.Contains("TRAINABLE_TOKENS", finding.Message);
    }

    [Fact]
    public void JSON_findings_have_lines_and_columns_too()
    {
        var finding = Assert.Single(TrainableTokensConfig.FromJson("{\n  \"token_indices\": [1, \"two\"]\n}").Validate());

        Assert.Equal("token_indices[1]", finding.Field);
        Assert.Equal((2, 24), (finding.Line, finding.Column));
    }
}
