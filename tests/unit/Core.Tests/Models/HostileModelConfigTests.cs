using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Text.Json.Nodes;
using TrainableTokens.Core.Models;

namespace TrainableTokens.Core.Tests.Models;

/// <summary>
/// config.json files that are broken, impossible or hostile: each is an <see cref="InvalidModelFolderException"/> that
/// names the file and the field, raised before anything is sized from the file.
/// </summary>
public sealed class HostileModelConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-hostile-config-").FullName;
    private string ConfigPath => Path.Combine(_dir, "config.json");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static JsonObject Llama() => new()
    {
        ["model_type"] = "llama", ["vocab_size"] = 32, ["hidden_size"] = 16, ["intermediate_size"] = 32,
        ["num_attention_heads"] = 4, ["num_key_value_heads"] = 2, ["num_hidden_layers"] = 2, ["max_position_embeddings"] = 64,
        ["rms_norm_eps"] = 1e-6, ["rope_theta"] = 10000.0,
    };

    private static JsonObject Gpt2() => new()
    {
        ["model_type"] = "gpt2", ["vocab_size"] = 32, ["n_embd"] = 16, ["n_head"] = 4, ["n_layer"] = 2, ["n_positions"] = 64,
    };

    private InvalidModelFolderException Refused(string json)
    {
        File.WriteAllText(ConfigPath, json);
        var error = Assert.Throws<InvalidModelFolderException>(() => ModelConfigReader.ReadFolder(_dir));
        Assert.Contains(ConfigPath, error.Message);
        Assert.Equal(ConfigPath, error.Target);
        Assert.True(error.Message.Length < 400, error.Message);
        return error;
    }

    private InvalidModelFolderException Refused(JsonObject config, string field, string value)
    {
        var copy = config.DeepClone().AsObject();
        SetPath(copy, field, JsonNode.Parse(value));
        return Refused(copy.ToJsonString());
    }

    private static void SetPath(JsonObject config, string field, JsonNode? value)
    {
        var parts = field.Split('.');
        var target = config;
        for (var i = 0; i < parts.Length - 1; i++) target = (JsonObject)target[parts[i]]!;
        target[parts[^1]] = value;
    }

    [Theory]
    [InlineData("max_position_embeddings", "-1")]
    [InlineData("max_position_embeddings", "0")]
    [InlineData("rope_theta", "0")]
    [InlineData("rope_theta", "-10000")]
    [InlineData("rope_theta", "1e999")]
    [InlineData("vocab_size", "0")]
    [InlineData("vocab_size", "-5")]
    [InlineData("vocab_size", "2147483647")]
    [InlineData("rms_norm_eps", "0")]
    [InlineData("rms_norm_eps", "-1e-6")]
    [InlineData("rms_norm_eps", "1e999")]
    [InlineData("head_dim", "0")]
    [InlineData("head_dim", "-4")]
    [InlineData("head_dim", "3")]
    [InlineData("head_dim", "65536")]
    [InlineData("hidden_size", "1073741824")]
    [InlineData("intermediate_size", "2147483647")]
    [InlineData("num_attention_heads", "1073741824")]
    [InlineData("num_key_value_heads", "-2")]
    [InlineData("num_key_value_heads", "3")]
    [InlineData("num_hidden_layers", "0")]
    [InlineData("num_hidden_layers", "100000000")]
    public void An_impossible_value_is_refused_naming_the_field(string field, string value)
    {
        var error = Refused(Llama(), field, value);

        Assert.Contains(field, error.Message);
        Assert.Contains("config.json", error.Message);
    }

    [Fact]
    public void A_bad_literal_followed_by_a_long_line_gives_a_short_message()
    {
        var error = Refused("{\"model_type\": \"llama\", \"tie_word_embeddings\": fals" + new string('[', 30000) + "}");
        Assert.Contains("line 1", error.Message);
    }

    [Fact]
    public void A_negative_sliding_window_is_refused()
    {
        var config = Llama();
        config["model_type"] = "mistral";

        Assert.Contains("sliding_window is -5", Refused(config, "sliding_window", "-5").Message);
        Assert.Contains("sliding_window is 0", Refused(config, "sliding_window", "0").Message);
    }

    [Fact]
    public void A_hundred_million_layers_are_refused_before_anything_is_allocated()
    {
        var config = Llama();
        config["model_type"] = "mistral";
        config["sliding_window"] = 4;
        config["num_hidden_layers"] = 100_000_000;
        File.WriteAllText(ConfigPath, config.ToJsonString());
        var before = GC.GetAllocatedBytesForCurrentThread();

        var error = Assert.Throws<InvalidModelFolderException>(() => ModelConfigReader.ReadFolder(_dir));

        Assert.Contains("num_hidden_layers is 100000000", error.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20, "Reading allocated more than 16 MiB.");
    }

    [Fact]
    public void Hidden_size_that_the_heads_do_not_divide_is_refused_without_head_dim()
    {
        Assert.Contains("hidden_size is 18", Refused(Llama(), "hidden_size", "18").Message);

        var withHeadDim = Llama();
        withHeadDim["hidden_size"] = 18;
        withHeadDim["head_dim"] = 4;
        File.WriteAllText(ConfigPath, withHeadDim.ToJsonString());
        Assert.Equal(4, ModelConfigReader.ReadFolder(_dir).HeadDim);
    }

    [Theory]
    [InlineData("""{"rope_type": "linear", "factor": 0}""", "rope_scaling.factor is 0")]
    [InlineData("""{"rope_type": "linear", "factor": -2}""", "rope_scaling.factor is -2")]
    [InlineData("""{"rope_type": "llama3", "factor": 8, "low_freq_factor": 0, "high_freq_factor": 4, "original_max_position_embeddings": 8192}""", "low_freq_factor is 0")]
    [InlineData("""{"rope_type": "llama3", "factor": 8, "low_freq_factor": 4, "high_freq_factor": 4, "original_max_position_embeddings": 8192}""", "high_freq_factor is 4")]
    [InlineData("""{"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4, "original_max_position_embeddings": 0}""", "original_max_position_embeddings is 0")]
    [InlineData("\"linear\"", "'rope_scaling' must be an object")]
    [InlineData("""{"rope_type": 5}""", "'rope_scaling.rope_type' must be a string")]
    public void Impossible_rope_scaling_is_refused(string scaling, string expected)
    {
        Assert.Contains(expected, Refused(Llama(), "rope_scaling", scaling).Message);
    }

    [Theory]
    [InlineData("n_positions", "-1")]
    [InlineData("n_inner", "-1")]
    [InlineData("layer_norm_epsilon", "0")]
    [InlineData("n_embd", "18")]
    [InlineData("n_layer", "5000")]
    public void Impossible_gpt2_values_are_refused_under_gpt2s_names(string field, string value)
    {
        Assert.Contains(field, Refused(Gpt2(), field, value).Message);
    }

    [Theory]
    [InlineData("layer_types", "[\"full_attention\", 5]", "layer_types[1] is 5")]
    [InlineData("layer_types", "[\"full_attention\", \"linear_attention\"]", "layer_types[1] is \"linear_attention\"")]
    [InlineData("layer_types", "\"full\"", "'layer_types' must be a list")]
    [InlineData("eos_token_id", "[\"a\"]", "'eos_token_id[0]' must be an integer")]
    [InlineData("tie_word_embeddings", "\"true\"", "must be true or false")]
    [InlineData("vocab_size", "32.0", "must be an integer")]
    [InlineData("vocab_size", "99999999999999999999", "must be an integer")]
    public void Wrong_types_are_our_errors_not_dotnets(string field, string value, string expected)
    {
        var error = Refused(Llama(), field, value);

        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain("requested operation requires", error.Message);
    }

    [Fact]
    public void A_key_written_twice_is_refused()
    {
        Assert.Contains("'vocab_size' is written twice", Refused("""{"model_type": "llama", "vocab_size": 32, "vocab_size": 64}""").Message);
        Assert.Contains("'rope_scaling.factor' is written twice", Refused("""{"model_type": "llama", "rope_scaling": {"factor": 1, "factor": 2}}""").Message);
    }

    [Theory]
    [InlineData("""{"model_type": "\ud800"}""")]
    [InlineData("""{"model_type": "llama", "\udc00": 1}""")]
    [InlineData(""", "torch_dtype": "\ud800x"}""")]
    public void A_lone_surrogate_escape_is_refused(string json)
    {
        // A fragment starting with a comma goes at the end of an otherwise complete config.
        if (json.StartsWith(',')) json = Llama().ToJsonString().TrimEnd('}') + json;
        var error = Refused(json);

        Assert.Contains("lone surrogate", error.Message);
        Assert.DoesNotContain("UTF-16 JSON text", error.Message);
    }

    [Fact]
    public void Nesting_fifty_thousand_deep_is_refused()
    {
        Assert.Contains("nested more than 64 levels", Refused("{\"model_type\": \"llama\", \"x\": " + HostileFiles.Nested(50_000) + "}").Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  \n")]
    public void An_empty_config_says_so(string json)
    {
        Assert.Contains("is empty", Refused(json).Message);
    }

    [Fact]
    public void Text_after_the_object_is_refused()
    {
        Assert.Contains("line 1", Refused(Llama().ToJsonString() + "{}").Message);
    }

    [Fact]
    public void Invalid_utf8_is_refused_with_its_line()
    {
        File.WriteAllBytes(ConfigPath, [.. "{\"model_type\": \"llama\",\n\"x\": \""u8, 0xC3, (byte)'"', (byte)'}']);

        var error = Assert.Throws<InvalidModelFolderException>(() => ModelConfigReader.ReadFolder(_dir));

        Assert.Contains("line 2", error.Message);
        Assert.Contains("UTF-8", error.Message);
    }

    [Fact]
    public void A_utf16_config_is_named_as_such()
    {
        File.WriteAllText(ConfigPath, Llama().ToJsonString(), Encoding.Unicode);

        Assert.Contains("UTF-16", Assert.Throws<InvalidModelFolderException>(() => ModelConfigReader.ReadFolder(_dir)).Message);
    }

    [Fact]
    public void A_utf8_bom_is_accepted()
    {
        File.WriteAllText(ConfigPath, Llama().ToJsonString(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        Assert.Equal(32, ModelConfigReader.ReadFolder(_dir).VocabSize);
    }

    [Fact]
    public void A_config_that_is_a_fifo_is_refused_without_waiting()
    {
        HostileFiles.Fifo(ConfigPath);
        var clock = Stopwatch.StartNew();

        Assert.Contains("FIFO", Assert.Throws<InvalidModelFolderException>(() => ModelConfigReader.ReadFolder(_dir)).Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData("/dev/zero")]
    [InlineData("/dev/urandom")]
    public void A_config_linked_to_a_device_is_refused(string device)
    {
        HostileFiles.LinkTo(ConfigPath, device);

        Assert.Contains("character device", Assert.Throws<InvalidModelFolderException>(() => ModelConfigReader.ReadFolder(_dir)).Message);
    }

    [Fact]
    public void A_config_that_is_a_folder_is_refused()
    {
        Directory.CreateDirectory(ConfigPath);

        Assert.Contains("a folder", Assert.Throws<InvalidModelFolderException>(() => ModelConfigReader.ReadFolder(_dir)).Message);
    }

    [Fact]
    public void A_config_larger_than_the_limit_is_refused_before_it_is_read()
    {
        HostileFiles.Sparse(ConfigPath, ModelConfigLimits.MaxFileBytes + 1, "{\"x\": \""u8.ToArray());

        Assert.Contains("at most 16 MiB", Assert.Throws<InvalidModelFolderException>(() => ModelConfigReader.ReadFolder(_dir)).Message);
    }

    [Fact]
    public void Real_configs_at_the_edges_still_read()
    {
        var config = Llama();
        config["vocab_size"] = 262_144;
        config["hidden_size"] = 16_384;
        config["num_attention_heads"] = 128;
        config["num_key_value_heads"] = 8;
        config["num_hidden_layers"] = 126;
        config["intermediate_size"] = 53_248;
        config["max_position_embeddings"] = 10_485_760;
        config["rope_scaling"] = JsonNode.Parse("""{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}""");
        config["eos_token_id"] = JsonNode.Parse("[128001, 128008, 128009]");
        config["pad_token_id"] = -1;
        File.WriteAllText(ConfigPath, config.ToJsonString());

        var read = ModelConfigReader.ReadFolder(_dir);

        Assert.Equal(126, read.SlidingWindows.Count);
        Assert.Equal(128001, read.EosTokenId);
        Assert.Equal(128, read.HeadDim);
    }
}
