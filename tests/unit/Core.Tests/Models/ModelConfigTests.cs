using System.IO;
using TrainableTokens.Core.Models;

namespace TrainableTokens.Core.Tests.Models;

public sealed class ModelConfigTests : System.IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ModelConfig Read(string json)
    {
        File.WriteAllText(Path.Combine(_dir, "config.json"), json);
        return ModelConfigReader.ReadFolder(_dir);
    }

    [Fact]
    public void An_unsupported_model_type_lists_the_supported_ones()
    {
        var error = Assert.Throws<InvalidModelFolderException>(() => Read("""{"model_type": "mamba"}"""));
        Assert.Contains("'mamba' is not supported", error.Message);
        Assert.Contains("llama, mistral, qwen2, gemma, gpt2", error.Message);
    }

    [Fact]
    public void A_missing_field_is_named()
    {
        var error = Assert.Throws<InvalidModelFolderException>(() => Read("""{"model_type": "llama", "vocab_size": 10}"""));
        Assert.Contains("'hidden_size'", error.Message);
        Assert.Contains("config.json", error.Message);
    }

    [Fact]
    public void A_wrongly_typed_field_says_what_it_must_be()
    {
        var error = Assert.Throws<InvalidModelFolderException>(() => Read("""{"model_type": "llama", "vocab_size": "many", "hidden_size": 8, "intermediate_size": 16, "num_attention_heads": 2, "num_hidden_layers": 1}"""));
        Assert.Contains("'vocab_size' must be an integer", error.Message);
    }

    [Fact]
    public void Broken_json_gives_the_line()
    {
        var error = Assert.Throws<InvalidModelFolderException>(() => Read("{\n  \"model_type\": \"llama\",\n  oops\n}"));
        Assert.Contains("line 3", error.Message);
    }

    [Fact]
    public void A_folder_without_config_json_says_what_a_model_folder_holds()
    {
        var error = Assert.Throws<InvalidModelFolderException>(() => ModelConfigReader.ReadFolder(_dir));
        Assert.Contains("config.json", error.Message);
    }

    [Fact]
    public void Key_value_heads_that_do_not_divide_the_heads_are_refused()
    {
        var json = TinyModelFactory.ConfigJson(new TinyModelSpec { ModelType = "llama", NumHeads = 4, NumKeyValueHeads = 3 });
        var error = Assert.Throws<InvalidModelFolderException>(() => Read(json));
        Assert.Contains("num_key_value_heads", error.Message);
    }

    [Theory]
    [InlineData("llama", false)]
    [InlineData("mistral", false)]
    [InlineData("qwen2", false)]
    [InlineData("gemma", true)]
    [InlineData("gpt2", true)]
    public void Tie_word_embeddings_defaults_as_in_transformers(string type, bool tied)
    {
        var json = type == "gpt2"
            ? """{"model_type": "gpt2", "vocab_size": 10, "n_embd": 8, "n_head": 2, "n_layer": 1}"""
            : $$"""{"model_type": "{{type}}", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_attention_heads": 2, "num_hidden_layers": 1, "head_dim": 4}""";
        Assert.Equal(tied, Read(json).TieWordEmbeddings);
    }

    [Fact]
    public void Transformers_5_rope_parameters_are_read()
    {
        var config = Read("""
            {"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_attention_heads": 2,
             "num_hidden_layers": 1, "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
             "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}
            """);
        Assert.Equal(500000, config.Rope.Theta);
        Assert.Equal("llama3", config.Rope.Type);
        Assert.Equal(8192, config.Rope.OriginalMaxPositions);
    }
}
