using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace TrainableTokens.Core.Tests.Models;

/// <summary>
/// The fixtures of architectures this version does not run yet (tests/fixtures/configs), checked against what their
/// checkpoints publish: the tensors their modeling files build from each config.json add up to the Hub's safetensors
/// total, so a wrong dimension in a fixture fails here before any engine code reads it. Sources in SOURCES.md.
/// </summary>
public sealed class PublishedParameterCountTests
{
    private static string Fixtures => Path.Combine(Examples.Root, "tests", "fixtures", "configs");

    /// <summary>
    /// The Hub's safetensors total of each checkpoint (every stored tensor once), and whether its files store the head
    /// although config.json ties it to the embedding.
    /// </summary>
    private static readonly Dictionary<string, (long Total, bool StoresTiedHead)> Published = new()
    {
        ["qwen3-0.6b"] = (751_632_384, true),
        ["qwen3-8b"] = (8_190_735_360, false),
        ["qwen3-32b"] = (32_762_123_264, false),
        ["gemma-2-2b"] = (2_614_341_888, false),
        ["gemma-2-9b"] = (9_241_705_984, false),
        ["gemma-3-1b"] = (999_885_952, false),
        ["gemma-3-4b"] = (4_300_079_472, false),
        ["gemma-3-27b"] = (27_432_406_640, false),
        ["phi-3.5-mini"] = (3_821_079_552, false),
        ["phi-4-mini"] = (3_836_021_760, false),
        ["smollm3-3b"] = (3_075_098_624, false),
        ["olmo-2-7b"] = (7_298_617_344, false),
    };

    private static readonly string[] NewArchitectures = ["qwen3", "gemma2", "gemma3_text", "gemma3", "phi3", "smollm3", "olmo2"];

    public static TheoryData<string> Checkpoints() => new(Published.Keys);

    private static JsonElement Config(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Fixtures, name, "config.json")));
        return doc.RootElement.Clone();
    }

    private static Dictionary<string, long[]> Shapes(string name) =>
        PublishedCheckpointLayout.Of(Config(name), Published[name].StoresTiedHead).ToDictionary(t => t.Name, t => t.Shape);

    private static long Sum(IEnumerable<PublishedCheckpointLayout.Tensor> tensors) => tensors.Sum(t => t.Count);

    [Fact]
    public void Every_fixture_of_the_new_architectures_has_its_published_count()
    {
        var fixtures = Directory.GetDirectories(Fixtures)
            .Select(d => Path.GetFileName(d)!)
            .Where(n => NewArchitectures.Contains(Config(n).GetProperty("model_type").GetString()))
            .OrderBy(n => n, StringComparer.Ordinal);

        Assert.Equal(Published.Keys.OrderBy(n => n, StringComparer.Ordinal), fixtures);
    }

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void The_tensors_config_json_implies_add_up_to_the_published_count(string name)
    {
        var tensors = PublishedCheckpointLayout.Of(Config(name), Published[name].StoresTiedHead);

        Assert.Equal(Published[name].Total, Sum(tensors));
        Assert.Equal(tensors.Count, tensors.Select(t => t.Name).Distinct().Count());
    }

    [Fact]
    public void Qwen3_0_6b_stores_its_tied_head_so_the_published_count_holds_the_embedding_twice()
    {
        var config = Config("qwen3-0.6b");
        Assert.True(config.GetProperty("tie_word_embeddings").GetBoolean());

        var unique = Sum(PublishedCheckpointLayout.Of(config));

        // 596,049,920 is what keras-hub's Qwen3 0.6B preset gives, with the head tied.
        Assert.Equal(596_049_920, unique);
        Assert.Equal(751_632_384 - 151_936L * 1024, unique);
        Assert.Equal(new long[] { 151936, 1024 }, Shapes("qwen3-0.6b")["lm_head.weight"]);
    }

    [Fact]
    public void The_other_tied_checkpoints_store_no_head()
    {
        foreach (var name in new[] { "gemma-2-2b", "gemma-2-9b", "gemma-3-1b", "phi-4-mini", "smollm3-3b" })
            Assert.DoesNotContain("lm_head.weight", Shapes(name).Keys);
        Assert.DoesNotContain(Shapes("gemma-3-4b").Keys, n => n.Contains("lm_head", StringComparison.Ordinal));
        Assert.Contains("lm_head.weight", Shapes("qwen3-8b").Keys);
        Assert.Contains("lm_head.weight", Shapes("phi-3.5-mini").Keys);
    }

    [Theory]
    // Text, SigLIP tower, projector. The 4B's text part is what a Gemma3ForCausalLM built from its text_config holds.
    [InlineData("gemma-3-4b", 3_880_263_168, 416_866_032, 2_950_272)]
    [InlineData("gemma-3-27b", 27_009_346_304, 416_866_032, 6_194_304)]
    public void A_gemma3_total_includes_the_vision_tower_and_the_projector(string name, long text, long tower, long projector)
    {
        var tensors = PublishedCheckpointLayout.Of(Config(name));

        Assert.Equal(text, Sum(tensors.Where(t => t.Name.StartsWith("language_model.", StringComparison.Ordinal))));
        Assert.Equal(tower, Sum(tensors.Where(t => t.Name.StartsWith("vision_tower.", StringComparison.Ordinal))));
        Assert.Equal(projector, Sum(tensors.Where(t => t.Name.StartsWith("multi_modal_projector.", StringComparison.Ordinal))));
        Assert.Equal(Published[name].Total, text + tower + projector);
    }

    [Fact]
    public void Each_architecture_has_the_tensor_shapes_of_its_modeling_file()
    {
        var qwen = Shapes("qwen3-32b");
        Assert.Equal(new long[] { 8192, 5120 }, qwen["model.layers.63.self_attn.q_proj.weight"]);
        Assert.Equal(new long[] { 128 }, qwen["model.layers.63.self_attn.q_norm.weight"]);
        Assert.Equal(new long[] { 1024, 5120 }, qwen["model.layers.63.self_attn.k_proj.weight"]);

        var olmo = Shapes("olmo-2-7b");
        Assert.Equal(new long[] { 4096 }, olmo["model.layers.31.self_attn.q_norm.weight"]);
        Assert.Contains("model.layers.31.post_feedforward_layernorm.weight", olmo.Keys);
        Assert.DoesNotContain("model.layers.31.input_layernorm.weight", olmo.Keys);

        var phi4 = Shapes("phi-4-mini");
        Assert.Equal(new long[] { 24 * 128 + 2 * 8 * 128, 3072 }, phi4["model.layers.0.self_attn.qkv_proj.weight"]);
        Assert.Equal(new long[] { 2 * 8192, 3072 }, phi4["model.layers.0.mlp.gate_up_proj.weight"]);
        Assert.Equal(new long[] { 3 * 3072, 3072 }, Shapes("phi-3.5-mini")["model.layers.31.self_attn.qkv_proj.weight"]);

        var gemma2 = Shapes("gemma-2-9b");
        Assert.Equal(new long[] { 16 * 256, 3584 }, gemma2["model.layers.41.self_attn.q_proj.weight"]);
        Assert.Contains("model.layers.41.pre_feedforward_layernorm.weight", gemma2.Keys);
        Assert.DoesNotContain("model.layers.41.self_attn.q_norm.weight", gemma2.Keys);

        var gemma3 = Shapes("gemma-3-27b");
        Assert.Equal(new long[] { 262208, 5376 }, gemma3["language_model.model.embed_tokens.weight"]);
        Assert.Equal(new long[] { 32 * 128, 5376 }, gemma3["language_model.model.layers.61.self_attn.q_proj.weight"]);
        Assert.Equal(new long[] { 128 }, gemma3["language_model.model.layers.61.self_attn.k_norm.weight"]);
        Assert.Equal(new long[] { 1152, 3, 14, 14 }, gemma3["vision_tower.vision_model.embeddings.patch_embedding.weight"]);
        Assert.Equal(new long[] { 1152, 5376 }, gemma3["multi_modal_projector.mm_input_projection_weight"]);
    }

    [Fact]
    public void The_fixtures_carry_the_fields_their_architecture_reads()
    {
        foreach (var name in new[] { "qwen3-0.6b", "qwen3-8b", "qwen3-32b" })
        {
            var c = Config(name);
            Assert.Equal(128, c.GetProperty("head_dim").GetInt32());
            Assert.Equal(c.GetProperty("num_hidden_layers").GetInt32(), c.GetProperty("max_window_layers").GetInt32());
            Assert.False(c.GetProperty("use_sliding_window").GetBoolean());
            Assert.Equal(JsonValueKind.Null, c.GetProperty("sliding_window").ValueKind);
            Assert.Equal(1_000_000, c.GetProperty("rope_theta").GetDouble());
        }

        foreach (var name in new[] { "gemma-2-2b", "gemma-2-9b" })
        {
            var c = Config(name);
            Assert.Equal((256, 50.0, 30.0, 4096, "hybrid"), (c.GetProperty("query_pre_attn_scalar").GetInt32(),
                c.GetProperty("attn_logit_softcapping").GetDouble(), c.GetProperty("final_logit_softcapping").GetDouble(),
                c.GetProperty("sliding_window").GetInt32(), c.GetProperty("cache_implementation").GetString()));
        }
        // The 9B's file also carries a leftover sliding_window_size, which transformers keeps as a plain attribute.
        Assert.Equal(4096, Config("gemma-2-9b").GetProperty("sliding_window_size").GetInt32());

        var small = Config("gemma-3-1b");
        Assert.Equal((6, 10000.0, 1_000_000.0, 512), (small.GetProperty("sliding_window_pattern").GetInt32(),
            small.GetProperty("rope_local_base_freq").GetDouble(), small.GetProperty("rope_theta").GetDouble(),
            small.GetProperty("sliding_window").GetInt32()));
        foreach (var (name, scalar) in new[] { ("gemma-3-4b", 256), ("gemma-3-27b", 168) })
        {
            var text = Config(name).GetProperty("text_config");
            var rope = text.GetProperty("rope_scaling");
            Assert.Equal(("linear", 8.0), (rope.GetProperty("rope_type").GetString(), rope.GetProperty("factor").GetDouble()));
            Assert.Equal(1024, text.GetProperty("sliding_window").GetInt32());
            // The 4B leaves query_pre_attn_scalar at the class default (256, its head_dim); the 27B gives 168, not its 128.
            Assert.Equal(scalar, text.TryGetProperty("query_pre_attn_scalar", out var q) ? q.GetInt32() : 256);
        }

        foreach (var (name, rotary) in new[] { ("phi-3.5-mini", 1.0), ("phi-4-mini", 0.75) })
        {
            var c = Config(name);
            var rope = c.GetProperty("rope_scaling");
            var headDim = c.GetProperty("hidden_size").GetInt32() / c.GetProperty("num_attention_heads").GetInt32();
            var pairs = (int)(headDim * rotary) / 2;
            Assert.Equal("longrope", rope.GetProperty("type").GetString());
            Assert.Equal(pairs, rope.GetProperty("long_factor").GetArrayLength());
            Assert.Equal(pairs, rope.GetProperty("short_factor").GetArrayLength());
            Assert.Equal(4096, c.GetProperty("original_max_position_embeddings").GetInt32());
            Assert.Equal(rotary, c.TryGetProperty("partial_rotary_factor", out var f) ? f.GetDouble() : 1.0);
        }

        var smol = Config("smollm3-3b");
        var noRope = smol.GetProperty("no_rope_layers").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(smol.GetProperty("num_hidden_layers").GetInt32(), noRope.Length);
        Assert.Equal(Enumerable.Range(0, 36).Select(i => (i + 1) % 4 == 0 ? 0 : 1), noRope);
        Assert.Equal(4, smol.GetProperty("no_rope_layer_interval").GetInt32());

        var olmo = Config("olmo-2-7b");
        Assert.Equal((1e-6, 500000.0), (olmo.GetProperty("rms_norm_eps").GetDouble(), olmo.GetProperty("rope_theta").GetDouble()));
    }
}
