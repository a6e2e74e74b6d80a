using System.Linq;
using System.Text.Json;
using TrainableTokens.Core.Models;

namespace TrainableTokens.Core.Tests.Models;

/// <summary>
/// config.json of the architectures added for issue 11, read as transformers' configuration classes read them: their
/// defaults, layer types, no-rope layers, Gemma 3's text_config, and errors that name the field.
/// </summary>
public sealed class ArchitectureConfigTests
{
    private static ModelConfig Read(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return ModelConfigReader.Parse(doc.RootElement, "/m/config.json");
    }

    private static string Error(string json) => Assert.Throws<InvalidModelFolderException>(() => Read(json)).Message;

    private const string Sizes = "\"vocab_size\": 100, \"hidden_size\": 64, \"intermediate_size\": 96, \"num_hidden_layers\": 6, \"num_attention_heads\": 4";

    [Fact]
    public void Qwen3_defaults_to_head_dim_128_untied_and_slides_only_with_use_sliding_window()
    {
        var plain = Read($$"""{"model_type": "qwen3", {{Sizes}}, "sliding_window": 8, "max_window_layers": 2}""");
        Assert.Equal((128, false, false, false), (plain.HeadDim, plain.TieWordEmbeddings, plain.QkvBias, plain.OutputBias));
        Assert.All(plain.SlidingWindows, w => Assert.Null(w));

        var sliding = Read($$"""{"model_type": "qwen3", {{Sizes}}, "use_sliding_window": true, "sliding_window": 8, "max_window_layers": 2, "attention_bias": true}""");
        Assert.Equal(new int?[] { null, null, 8, 8, 8, 8 }, sliding.SlidingWindows);
        Assert.True(sliding.QkvBias && sliding.OutputBias);

        // layer_types wins over max_window_layers; without use_sliding_window a sliding layer has no window.
        var typed = Read($$"""{"model_type": "qwen3", {{Sizes}}, "sliding_window": 8, "layer_types": ["sliding_attention", "full_attention", "full_attention", "full_attention", "full_attention", "full_attention"]}""");
        Assert.All(typed.SlidingWindows, w => Assert.Null(w));
    }

    [Fact]
    public void Mistral_without_sliding_window_slides_over_4096_tokens_and_an_explicit_null_attends_fully()
    {
        // MistralConfig's sliding_window defaults to 4096; Mistral 7B v0.2 and later write null.
        var byDefault = Read($$"""{"model_type": "mistral", {{Sizes}}}""");
        Assert.All(byDefault.SlidingWindows, w => Assert.Equal(4096, w));
        var full = Read($$"""{"model_type": "mistral", {{Sizes}}, "sliding_window": null}""");
        Assert.All(full.SlidingWindows, w => Assert.Null(w));
    }

    [Fact]
    public void Qwen2_with_use_sliding_window_and_no_max_window_layers_slides_from_layer_28()
    {
        // Qwen2Config's max_window_layers defaults to 28, as Qwen3Config's does.
        var c = Read("""{"model_type": "qwen2", "vocab_size": 100, "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 30, "num_attention_heads": 4, "use_sliding_window": true, "sliding_window": 8}""");
        Assert.Equal(Enumerable.Repeat<int?>(null, 28).Concat([8, 8]), c.SlidingWindows);
    }

    [Fact]
    public void Gemma2_alternates_sliding_and_full_layers_with_its_soft_caps_and_query_scalar()
    {
        var c = Read($$"""{"model_type": "gemma2", {{Sizes}}, "sliding_window": 16, "query_pre_attn_scalar": 24}""");
        Assert.Equal(new int?[] { 16, null, 16, null, 16, null }, c.SlidingWindows);
        Assert.Equal(new[] { true, false, true, false, true, false }, c.SlidingLayers);
        Assert.Equal((256, 24.0, 50.0, 30.0, true), (c.HeadDim, c.QueryPreAttentionScalar!.Value, c.AttentionSoftcap!.Value, c.FinalLogitSoftcap!.Value, c.TieWordEmbeddings));
        Assert.Equal("gelu_pytorch_tanh", c.HiddenActivation);

        // An explicit null turns a cap off, as in transformers.
        var uncapped = Read($$"""{"model_type": "gemma2", {{Sizes}}, "attn_logit_softcapping": null, "final_logit_softcapping": null}""");
        Assert.Null(uncapped.AttentionSoftcap);
        Assert.Null(uncapped.FinalLogitSoftcap);
        Assert.Equal(256.0, uncapped.QueryPreAttentionScalar);
    }

    [Fact]
    public void Gemma3_text_attends_fully_every_pattern_th_layer()
    {
        var c = Read($$"""{"model_type": "gemma3_text", {{Sizes}}, "sliding_window": 512, "sliding_window_pattern": 3}""");
        Assert.Equal(new[] { true, true, false, true, true, false }, c.SlidingLayers);
        Assert.Equal(new int?[] { 512, 512, null, 512, 512, null }, c.SlidingWindows);
        Assert.Null(c.AttentionSoftcap);
        Assert.Null(c.FinalLogitSoftcap);
        var byDefault = Read($$"""{"model_type": "gemma3_text", {{Sizes}}}""");
        Assert.Equal(new[] { true, true, true, true, true, false }, byDefault.SlidingLayers);
        Assert.Equal(4096, byDefault.SlidingWindows[0]);
    }

    [Fact]
    public void A_gemma3_folder_reads_its_text_model_from_text_config()
    {
        var c = Read($$"""{"model_type": "gemma3", "architectures": ["Gemma3ForConditionalGeneration"], "eos_token_id": [1, 106], "torch_dtype": "bfloat16", "text_config": {"model_type": "gemma3_text", {{Sizes}}, "head_dim": 16, "sliding_window": 8}, "vision_config": {"model_type": "siglip_vision_model"} }""");
        Assert.Equal(("gemma3", 100, 64, 16, true, "bfloat16", 1), (c.ModelType, c.VocabSize, c.HiddenSize, c.HeadDim, c.TieWordEmbeddings, c.TorchDtype, c.EosTokenId));
        Assert.Equal(8, c.SlidingWindows[0]);
        // Gemma3ForConditionalGeneration never caps its logits, whatever text_config says; Gemma3ForCausalLM does.
        Assert.Null(Read("""{"model_type": "gemma3", "text_config": {"final_logit_softcapping": 30.0} }""").FinalLogitSoftcap);
        Assert.Equal(30.0, Read($$"""{"model_type": "gemma3_text", {{Sizes}}, "final_logit_softcapping": 30.0}""").FinalLogitSoftcap);
        Assert.Contains("text_config.use_bidirectional_attention is true", Error("""{"model_type": "gemma3", "text_config": {"use_bidirectional_attention": true} }"""));

        // transformers writes text_config as its difference from Gemma3TextConfig's defaults: the rest are those defaults.
        var sparse = Read("""{"model_type": "gemma3", "text_config": {"model_type": "gemma3_text", "hidden_size": 2560, "num_hidden_layers": 34, "intermediate_size": 10240}}""");
        Assert.Equal((262_208, 2560, 10240, 34, 8, 4, 256), (sparse.VocabSize, sparse.HiddenSize, sparse.IntermediateSize, sparse.NumLayers, sparse.NumHeads, sparse.NumKeyValueHeads, sparse.HeadDim));
        // A plain gemma3_text config.json is complete, as Gemma3ForCausalLM saves it.
        Assert.Contains("'/m/config.json' has no 'num_attention_heads'", Error("""{"model_type": "gemma3_text", "vocab_size": 10, "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2}"""));
    }

    [Fact]
    public void Phi3_has_no_biases_and_one_window_for_every_layer()
    {
        var c = Read($$"""{"model_type": "phi3", {{Sizes}}, "attention_bias": true, "sliding_window": 2047}""");
        Assert.Equal((16, 1e-5, false, false, false), (c.HeadDim, c.NormEpsilon, c.TieWordEmbeddings, c.QkvBias, c.OutputBias));
        Assert.All(c.SlidingWindows, w => Assert.Equal(2047, w));
    }

    [Fact]
    public void SmolLM3_skips_rope_on_the_layers_no_rope_layers_marks_0()
    {
        var listed = Read($$"""{"model_type": "smollm3", {{Sizes}}, "no_rope_layers": [1, 0, 1, 1, 0, 1, 1]}""");
        Assert.Equal(new[] { true, false, true, true, false, true }, listed.RotaryLayers);
        Assert.True(listed.TieWordEmbeddings);
        Assert.Equal(2_000_000, listed.Rope.Theta);
        var byInterval = Read($$"""{"model_type": "smollm3", {{Sizes}}, "no_rope_layer_interval": 3}""");
        Assert.Equal(new[] { true, true, false, true, true, false }, byInterval.RotaryLayers);
        Assert.All(byInterval.SlidingWindows, w => Assert.Null(w));
    }

    [Fact]
    public void Olmo2_has_only_post_norms_and_norms_q_and_k_over_the_whole_projection()
    {
        var c = Read($$"""{"model_type": "olmo2", {{Sizes}}, "num_key_value_heads": 2}""");
        var names = ModelLoader.ExpectedWeights(c).Select(w => (w.Name, string.Join("x", w.Shape))).ToList();
        Assert.Contains(("model.layers.0.post_attention_layernorm.weight", "64"), names);
        Assert.Contains(("model.layers.0.post_feedforward_layernorm.weight", "64"), names);
        Assert.Contains(("model.layers.0.self_attn.q_norm.weight", "64"), names);
        Assert.Contains(("model.layers.0.self_attn.k_norm.weight", "32"), names);
        Assert.DoesNotContain(names, n => n.Name.Contains("input_layernorm"));
        Assert.Equal(1e-5, c.NormEpsilon);
    }

    [Fact]
    public void Each_new_architecture_lists_the_weights_transformers_names()
    {
        string[] Names(string type, string extra = "") => ModelLoader.ExpectedWeights(Read($$"""{"model_type": "{{type}}", {{Sizes}}, "head_dim": 16{{extra}}}"""))
            .Where(w => w.Name.Contains(".layers.0.")).Select(w => w.Name[(w.Name.IndexOf(".layers.0.") + 10)..]).OrderBy(n => n, System.StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { "input_layernorm.weight", "mlp.down_proj.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight", "post_attention_layernorm.weight",
            "self_attn.k_norm.weight", "self_attn.k_proj.weight", "self_attn.o_proj.weight", "self_attn.q_norm.weight", "self_attn.q_proj.weight", "self_attn.v_proj.weight" }, Names("qwen3"));
        var gemma2 = new[] { "input_layernorm.weight", "mlp.down_proj.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight", "post_attention_layernorm.weight",
            "post_feedforward_layernorm.weight", "pre_feedforward_layernorm.weight", "self_attn.k_proj.weight", "self_attn.o_proj.weight", "self_attn.q_proj.weight", "self_attn.v_proj.weight" };
        Assert.Equal(gemma2, Names("gemma2"));
        Assert.Equal(gemma2.Append("self_attn.k_norm.weight").Append("self_attn.q_norm.weight").OrderBy(n => n, System.StringComparer.Ordinal), Names("gemma3_text"));
        Assert.Equal(new[] { "input_layernorm.weight", "mlp.down_proj.weight", "mlp.gate_up_proj.weight", "post_attention_layernorm.weight", "self_attn.o_proj.weight", "self_attn.qkv_proj.weight" }, Names("phi3"));
        var phi = ModelLoader.ExpectedWeights(Read($$"""{"model_type": "phi3", {{Sizes}}, "num_key_value_heads": 2}""")).ToDictionary(w => w.Name, w => w.Shape);
        Assert.Equal(new long[] { 64 + 2 * 32, 64 }, phi["model.layers.0.self_attn.qkv_proj.weight"]);
        Assert.Equal(new long[] { 2 * 96, 64 }, phi["model.layers.0.mlp.gate_up_proj.weight"]);
        var gemma3 = Read($$"""{"model_type": "gemma3", "text_config": { {{Sizes}} } }""");
        Assert.Equal("model.language_model.embed_tokens.weight", ModelLoader.ExpectedWeights(gemma3).First().Name);
        Assert.Equal("model.language_model.embed_tokens", ModelArchitectures.InputEmbeddingPath("gemma3"));
    }

    [Theory]
    [InlineData("""{"model_type": "smollm3", SIZES, "no_rope_layers": [1, 0, 1]}""", "no_rope_layers has 3 entries but num_hidden_layers is 6")]
    [InlineData("""{"model_type": "smollm3", SIZES, "no_rope_layers": [1, 0, 2, 1, 1, 1]}""", "no_rope_layers[2] is 2; each entry must be 1")]
    [InlineData("""{"model_type": "gemma2", SIZES, "layer_types": ["full_attention"]}""", "layer_types has 1 entries but num_hidden_layers is 6")]
    [InlineData("""{"model_type": "gemma3", "text_config": {SIZES, "layer_types": ["full_attention"]}}""", "text_config.layer_types has 1 entries but text_config.num_hidden_layers is 6")]
    [InlineData("""{"model_type": "gemma2", SIZES, "query_pre_attn_scalar": 0}""", "query_pre_attn_scalar is 0; it must be a positive number")]
    [InlineData("""{"model_type": "gemma2", SIZES, "attn_logit_softcapping": -1}""", "attn_logit_softcapping is -1; it must be a positive number")]
    [InlineData("""{"model_type": "gemma3_text", SIZES, "sliding_window_pattern": 0}""", "sliding_window_pattern is 0")]
    [InlineData("""{"model_type": "phi3", "vocab_size": 100, "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 6, "num_attention_heads": 5}""", "hidden_size is 64, which num_attention_heads (5) does not divide")]
    public void A_contradictory_field_is_an_error_naming_the_file_and_field(string json, string expected)
    {
        var message = Error(json.Replace("SIZES", Sizes));
        Assert.Contains("/m/config.json", message);
        Assert.Contains(expected, message);
    }
}
