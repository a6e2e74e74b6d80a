using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using TrainableTokens.Core.Models;
using Xunit;

namespace TrainableTokens.Core.Tests.Models;

/// <summary>config.json's rope fields in transformers 4.x and 5.x layouts, per layer type, partial rotary, and the
/// errors for what cannot be run.</summary>
public class RopeConfigReaderTests
{
    private const string Path = "/models/x/config.json";

    private static string Llama(string rope) => $$"""
        {"model_type": "llama", "vocab_size": 64, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
         "num_key_value_heads": 2, "num_hidden_layers": 1, "max_position_embeddings": 256 {{rope}} }
        """;

    private static ModelConfig Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return ModelConfigReader.Parse(doc.RootElement, Path);
    }

    private static InvalidModelFolderException Refused(string json) => Assert.Throws<InvalidModelFolderException>(() => Parse(json));

    /// <summary>The rope fields of a config of a model type the engine does not run yet (the reader is what it uses).</summary>
    private static ModelConfig Rope(string json, string type, int headDim, int maxPositions)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement.TryGetProperty("text_config", out var text) ? text : doc.RootElement;
        var config = new ModelConfig
        {
            ModelType = type, VocabSize = 64, HiddenSize = 64, IntermediateSize = 64, NumLayers = 1, NumHeads = 1, NumKeyValueHeads = 1,
            HeadDim = headDim, NormEpsilon = 1e-6, HiddenActivation = "silu", TieWordEmbeddings = false, MaxPositions = maxPositions,
        };
        return RopeConfigReader.With(new ModelConfigReader.Fields(root, Path), config);
    }

    [Theory]
    [InlineData("""
        , "rope_theta": 500000.0, "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64, "beta_fast": 16, "mscale": 1, "mscale_all_dim": 1, "truncate": false}
        """, """
        , "rope_parameters": {"rope_type": "yarn", "rope_theta": 500000.0, "factor": 4.0, "original_max_position_embeddings": 64, "beta_fast": 16, "mscale": 1, "mscale_all_dim": 1, "truncate": false}
        """)]
    [InlineData("""
        , "rope_theta": 10000.0, "rope_scaling": {"type": "longrope", "short_factor": [1, 1, 1, 1, 1, 1, 1, 2], "long_factor": [1, 2, 3, 4, 5, 6, 7, 8], "original_max_position_embeddings": 32}
        """, """
        , "rope_parameters": {"rope_type": "longrope", "rope_theta": 10000.0, "short_factor": [1, 1, 1, 1, 1, 1, 1, 2], "long_factor": [1, 2, 3, 4, 5, 6, 7, 8], "original_max_position_embeddings": 32}
        """)]
    [InlineData("""
        , "rope_theta": 2.0, "rope_scaling": {"rope_type": "dynamic", "factor": 2.0}
        """, """
        , "rope_parameters": {"type": "dynamic", "rope_theta": 2.0, "factor": 2.0}
        """)]
    [InlineData("""
        , "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0}
        """, """
        , "rope_parameters": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 256}
        """)]
    public void The_4x_and_5x_layouts_give_equal_rope_parameters(string v4, string v5)
    {
        var a = Parse(Llama(v4)).Rope;
        var b = Parse(Llama(v5)).Rope;
        Assert.Equal(a, b);
        Assert.NotEqual(RopeParameters.Default, a);
    }

    [Fact]
    public void Fields_of_each_type_are_read()
    {
        var yarn = Parse(Llama("""
            , "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64, "beta_fast": 16, "beta_slow": 2, "attention_factor": 1.5, "mscale": 1, "mscale_all_dim": 0.5, "truncate": false}
            """)).Rope;
        Assert.Equal(new RopeParameters { Type = "yarn", Theta = 10000, Factor = 4, OriginalMaxPositions = 64, BetaFast = 16, BetaSlow = 2, AttentionFactor = 1.5, Mscale = 1, MscaleAllDim = 0.5, Truncate = false }, yarn);
        // No original in the block: max_position_embeddings, as transformers 5 fills it in.
        Assert.Equal(256, Parse(Llama(""", "rope_scaling": {"rope_type": "yarn", "factor": 4.0}""")).Rope.OriginalMaxPositions);
        // A top-level original (Phi-3 style) wins over the block's.
        Assert.Equal(16, Parse(Llama(""", "original_max_position_embeddings": 16, "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64}""")).Rope.OriginalMaxPositions);
        var linear = Parse(Llama(""", "rope_theta": 1000.0, "rope_scaling": {"type": "linear", "factor": 2.0}""")).Rope;
        Assert.Equal(new RopeParameters { Type = "linear", Theta = 1000, Factor = 2 }, linear);
        Assert.Null(Parse(Llama("")).SlidingRope);
        Assert.Equal(1, Parse(Llama("")).PartialRotaryFactor);
    }

    [Fact]
    public void Gemma3s_global_and_local_ropes_read_alike_from_both_layouts()
    {
        var v4 = Rope("""{"rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "rope_scaling": {"rope_type": "linear", "factor": 8.0}}""", "gemma3_text", 256, 131072);
        var v5 = Rope("""
            {"rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
                                 "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}}
            """, "gemma3_text", 256, 131072);
        Assert.Equal(new RopeParameters { Type = "linear", Theta = 1_000_000, Factor = 8 }, v4.Rope);
        Assert.Equal(RopeParameters.Default with { Theta = 10000 }, v4.SlidingRope);
        Assert.Equal((v4.Rope, v4.SlidingRope), (v5.Rope, v5.SlidingRope));

        // The published gemma-3-4b gives neither theta: the config class's 1e6 global and 1e4 local.
        var published = Rope(File.ReadAllText(Fixture("gemma-3-4b")), "gemma3", 256, 131072);
        Assert.Equal(v4.Rope, published.Rope);
        Assert.Equal(v4.SlidingRope, published.SlidingRope);
        // gemma-3-1b: no scaling; local base 1e4, global 1e6.
        var small = Rope(File.ReadAllText(Fixture("gemma-3-1b")), "gemma3_text", 256, 32768);
        Assert.Equal(RopeParameters.Default with { Theta = 1_000_000 }, small.Rope);
        Assert.Equal(10000, small.SlidingRope!.Theta);
    }

    [Fact]
    public void A_per_layer_rope_parameters_with_one_rope_for_both_kinds_has_no_separate_sliding_rope()
    {
        var c = Parse(Llama(""", "rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 5000.0}, "sliding_attention": {"rope_type": "default", "rope_theta": 5000.0}}"""));
        Assert.Equal(RopeParameters.Default with { Theta = 5000 }, c.Rope);
        Assert.Null(c.SlidingRope);
    }

    private static string Fixture(string name) => System.IO.Path.Combine(Examples.Root, "tests", "fixtures", "configs", name, ModelConfigReader.FileName);

    [Fact]
    public void Phi_4_minis_longrope_and_partial_rotary_are_read()
    {
        // Phi-4-mini: head_dim 128, partial_rotary_factor 0.75 at the top level, 48 factors, original 4096 at the top level.
        var c = Rope(File.ReadAllText(Fixture("phi-4-mini")), "phi3", 128, 131072);
        Assert.Equal(0.75, c.PartialRotaryFactor);
        Assert.Equal("longrope", c.Rope.Type);
        Assert.Equal(4096, c.Rope.OriginalMaxPositions);
        Assert.Equal(48, c.Rope.ShortFactor!.Count);
        Assert.Equal(48, c.Rope.LongFactor!.Count);
        Assert.Equal(Math.Sqrt(1 + Math.Log(131072.0 / 4096) / Math.Log(4096)), RotaryEmbedding.AttentionFactorOf(c.Rope, 131072), 12);

        // transformers 5 keeps partial_rotary_factor inside rope_parameters: the same result.
        var v5 = Rope($$"""
            {"rope_parameters": {"rope_type": "longrope", "rope_theta": 10000.0, "partial_rotary_factor": 0.75,
              "short_factor": [{{string.Join(", ", c.Rope.ShortFactor.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}}],
              "long_factor": [{{string.Join(", ", c.Rope.LongFactor.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}}],
              "original_max_position_embeddings": 4096} }
            """, "phi3", 128, 131072);
        Assert.Equal((c.Rope, c.PartialRotaryFactor), (v5.Rope, v5.PartialRotaryFactor));
        // Phi-3's config class defaults a missing top-level original to 4096 (over the block's).
        var legacy = Rope("""{"rope_scaling": {"type": "su", "short_factor": [1, 1], "long_factor": [2, 2], "original_max_position_embeddings": 100}}""", "phi3", 4, 8192);
        Assert.Equal(("longrope", 4096), (legacy.Rope.Type, legacy.Rope.OriginalMaxPositions!.Value));
    }

    [Fact]
    public void A_longrope_list_of_the_wrong_length_names_the_field_and_the_count_it_needs()
    {
        var json = File.ReadAllText(Fixture("phi-4-mini")).Replace("\"long_factor\": [", "\"long_factor\": [1.0, 2.0, 3.0], \"unused\": [");
        var error = Assert.Throws<InvalidModelFolderException>(() => Rope(json, "phi3", 128, 131072));
        Assert.Contains("config.json", error.Message);
        Assert.Contains("rope_scaling.long_factor has 3 entries", error.Message);
        Assert.Contains("needs 48", error.Message);
    }

    [Theory]
    [InlineData("""{"rope_type": "yarn"}""", "has no 'rope_scaling.factor'")]
    [InlineData("""{"rope_type": "dynamic", "factor": 0}""", "rope_scaling.factor is 0")]
    [InlineData("""{"rope_type": "yarn", "factor": 4, "beta_fast": -1}""", "rope_scaling.beta_fast is -1")]
    [InlineData("""{"rope_type": "yarn", "factor": 4, "attention_factor": 0}""", "rope_scaling.attention_factor is 0")]
    [InlineData("""{"rope_type": "yarn", "factor": 4, "mscale": -1}""", "rope_scaling.mscale is -1")]
    [InlineData("""{"rope_type": "yarn", "factor": 4, "truncate": "no"}""", "'rope_scaling.truncate' must be true or false")]
    [InlineData("""{"rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 0}""", "rope_scaling.original_max_position_embeddings is 0")]
    [InlineData("""{"rope_type": "longrope", "short_factor": [1, 1, 1, 1, 1, 1, 1, 1]}""", "has no 'rope_scaling.long_factor'")]
    [InlineData("""{"rope_type": "longrope", "short_factor": [1, 1, 1, 1, 1, 1, 1, 1], "long_factor": [1, 1, -2, 1, "x", 1, 1, 1]}""", "rope_scaling.long_factor holds entries that are not positive numbers ([2] is -2, [4] is \"x\")")]
    [InlineData("""{"rope_type": "longrope", "short_factor": 3, "long_factor": [1]}""", "'rope_scaling.short_factor' must be a list")]
    [InlineData("""{"rope_type": "ntk", "factor": 2}""", "rope_scaling.rope_type is 'ntk', a rope type this engine does not implement")]
    public void Bad_rope_fields_are_refused_naming_the_field(string scaling, string expected)
    {
        var error = Refused(Llama($", \"rope_scaling\": {scaling}"));
        Assert.Contains(Path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData(""", "partial_rotary_factor": 0""", "partial_rotary_factor is 0")]
    [InlineData(""", "partial_rotary_factor": 1.5""", "partial_rotary_factor is 1.5")]
    [InlineData(""", "partial_rotary_factor": 0.1""", "rotates 1 of head_dim 16")]
    [InlineData(""", "rope_parameters": {"rope_type": "default", "partial_rotary_factor": -1}""", "rope_parameters.partial_rotary_factor is -1")]
    [InlineData(""", "rope_parameters": {"rope_type": "linear", "rope_theta": -5, "factor": 2}""", "rope_parameters.rope_theta is -5")]
    [InlineData(""", "rope_parameters": {"full_attention": {"rope_type": "warp"}}""", "rope_parameters.full_attention.rope_type is 'warp'")]
    public void Bad_partial_rotary_and_rope_parameters_are_refused_naming_the_field(string fields, string expected)
    {
        Assert.Contains(expected, Refused(Llama(fields)).Message);
    }
}
