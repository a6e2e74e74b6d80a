using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Core.Tests.Configuration;

/// <summary>adapter_config.json through the engine's generated TrainableTokensConfig, with PEFT's names.</summary>
public class PeftAdapterConfigTests
{
    [Fact]
    public void ToPeftJson_has_PEFTs_keys_and_values()
    {
        var config = new TrainableTokensConfig
        {
            TokenIndices = [5, 6],
            InferenceMode = true,
            BaseModelNameOrPath = "models/tiny-llama",
            PeftVersion = "0.17.0",
        };

        Assert.Equal("""
            {
              "auto_mapping": null,
              "base_model_name_or_path": "models/tiny-llama",
              "inference_mode": true,
              "init_weights": true,
              "peft_type": "TRAINABLE_TOKENS",
              "peft_version": "0.17.0",
              "revision": null,
              "target_modules": null,
              "task_type": "CAUSAL_LM",
              "token_indices": [
                5,
                6
              ]
            }
            """, config.ToPeftJson());
    }

    [Fact]
    public void FromPeftJson_keeps_unknown_keys_and_writes_them_back()
    {
        const string json = """{"peft_type": "TRAINABLE_TOKENS", "token_indices": [3], "target_modules": "model.embed_tokens", "new_in_peft_9": [1]}""";

        var config = TrainableTokensConfig.FromPeftJson(json, "adapter_config.json");

        Assert.Equal("model.embed_tokens", config.TargetModules!.Text);
        Assert.Contains("\"new_in_peft_9\": [\n    1\n  ],", config.ToPeftJson());
        Assert.Equal(config, TrainableTokensConfig.FromPeftJson(config.ToPeftJson()));
    }

    [Fact]
    public void FromPeftJson_refuses_another_methods_config_listing_every_error()
    {
        const string json = "{\n  \"peft_type\": \"LORA\",\n  \"r\": 8\n}";

        var error = Assert.Throws<InvalidConfigException>(() => TrainableTokensConfig.FromPeftJson(json, "adapter_config.json"));

        Assert.Equal("InvalidConfig", error.ErrorId);
        Assert.Equal(2, error.Findings.Count);
        Assert.Contains("adapter_config.json:2:16: error: peft_type:", error.Message);
        Assert.Contains("'token_indices' is required", error.Message);
    }
}
