using System.Linq;
using TrainableTokens.Core.Tuners.Lora;
using static TorchSharp.torch;
using static TrainableTokens.Core.Tests.Tuners.Lora.LoraTestModels;

namespace TrainableTokens.Core.Tests.Tuners.Lora;

/// <summary>PEFT's target_modules rules resolved against the tiny models' projections (two layers each).</summary>
public sealed class LoraTargetTests
{
    private static string[] Resolve(LoraConfig config, string type = "llama")
    {
        using var model = Build(type);
        using var tuner = new LoraModel(model);
        return tuner.ResolveTargets(config).ToArray();
    }

    [Fact]
    public void A_list_matches_by_suffix_in_model_order()
    {
        Assert.Equal(new[]
        {
            "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
            "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj",
        }, Resolve(Config("v_proj", "q_proj")));
        // A suffix matches whole dotted parts only: "proj" is no module's name.
        Assert.Throws<InvalidAdapterException>(() => Resolve(Config("proj")));
    }

    [Fact]
    public void A_string_is_a_regex_matching_the_whole_path()
    {
        Assert.Equal(new[] { "model.layers.1.mlp.down_proj" }, Resolve(Config() with { TargetModules = LoraTargets.FromString(@"model\.layers\.1\.mlp\.down_proj") }));
        Assert.Equal(new[] { "model.layers.0.self_attn.k_proj", "model.layers.1.self_attn.k_proj" },
            Resolve(Config() with { TargetModules = LoraTargets.FromString(@".*\.k_proj") }));
        // Not a search: a partial match selects nothing.
        Assert.Throws<InvalidAdapterException>(() => Resolve(Config() with { TargetModules = LoraTargets.FromString("k_proj") }));
    }

    [Theory]
    [InlineData("all-linear")]
    [InlineData("ALL-LINEAR")]
    public void All_linear_takes_every_projection_and_not_the_lm_head(string text)
    {
        using var scope = NewDisposeScope();
        using var model = Build("llama");
        var all = Resolve(Config() with { TargetModules = LoraTargets.FromString(text) });
        Assert.Equal(model.LinearLayers.Paths, all);
        Assert.Equal(14, all.Length);
        Assert.DoesNotContain(all, p => p.Contains("lm_head") || p.Contains("embed_tokens"));
    }

    [Fact]
    public void Null_target_modules_takes_PEFTs_default_q_and_v()
    {
        Assert.Equal(4, Resolve(Config()).Length);
        Assert.All(Resolve(Config()), p => Assert.True(p.EndsWith(".q_proj") || p.EndsWith(".v_proj")));
    }

    [Fact]
    public void Layers_to_transform_keeps_the_given_layer_indices()
    {
        var config = Config("q_proj", "down_proj") with { LayersToTransform = new[] { 1 } };
        Assert.Equal(new[] { "model.layers.1.self_attn.q_proj", "model.layers.1.mlp.down_proj" }, Resolve(config));
        Assert.Equal(new[] { "model.layers.1.self_attn.q_proj", "model.layers.1.mlp.down_proj" }, Resolve(config with { LayersPattern = new[] { "layers" } }));
        Assert.Throws<InvalidAdapterException>(() => Resolve(config with { LayersPattern = new[] { "blocks" } }));
        // PEFT takes layer indices with a list only; with a regex or all-linear they are an error naming the field.
        var e = Assert.Throws<InvalidAdapterException>(() => Resolve(config with { TargetModules = LoraTargets.FromString(@".*\.q_proj") }));
        Assert.Contains("layers_to_transform", e.Message);
        Assert.Throws<InvalidAdapterException>(() => Resolve(config with { TargetModules = LoraTargets.FromString("all-linear") }));
    }

    [Fact]
    public void Exclude_modules_removes_matches_by_suffix_or_regex()
    {
        var all = Config() with { TargetModules = LoraTargets.FromString("all-linear") };
        var noMlp = Resolve(all with { ExcludeModules = LoraTargets.FromString(@".*\.mlp\..*") });
        Assert.Equal(8, noMlp.Length);
        Assert.All(noMlp, p => Assert.Contains(".self_attn.", p));
        Assert.Equal(12, Resolve(all with { ExcludeModules = LoraTargets.List(new[] { "o_proj" }) }).Length);
        var e = Assert.Throws<InvalidAdapterException>(() => Resolve(Config("o_proj") with { ExcludeModules = LoraTargets.List(new[] { "o_proj" }) }));
        Assert.Contains("excluded", e.Message);
    }

    [Fact]
    public void Targets_that_match_nothing_are_an_error_listing_the_modules_that_exist()
    {
        var e = Assert.Throws<InvalidAdapterException>(() => Resolve(Config("query_key_value", "dense")));
        Assert.Contains("target_modules [query_key_value, dense] was not found", e.Message);
        Assert.Contains("model.layers.0.self_attn.q_proj", e.Message);
        Assert.Contains("more", e.Message);
    }

    [Theory]
    [InlineData("embed_tokens")]
    [InlineData("lm_head")]
    public void LoRA_on_the_embedding_or_head_is_refused_for_now(string target)
    {
        var e = Assert.Throws<InvalidAdapterException>(() => Resolve(Config(target, "q_proj")));
        Assert.Contains("not supported yet", e.Message);
    }

    [Fact]
    public void Conv1D_targets_are_refused_clearly()
    {
        var e = Assert.Throws<InvalidAdapterException>(() => Resolve(Config("c_attn"), "gpt2"));
        Assert.Contains("Conv1D", e.Message);
    }

    [Fact]
    public void Rank_and_alpha_patterns_set_per_module_rank_and_scaling()
    {
        using var scope = NewDisposeScope();
        using var model = Build("llama");
        using var tuner = new LoraModel(model);
        var config = Config("q_proj", "v_proj") with
        {
            R = 4,
            LoraAlpha = 8,
            RankPattern = new[] { new System.Collections.Generic.KeyValuePair<string, int>(@"layers\.1\.self_attn\.q_proj", 2), new("v_proj", 6) },
            AlphaPattern = new[] { new System.Collections.Generic.KeyValuePair<string, double>("v_proj", 3) },
        };
        tuner.AddAdapter("default", config);
        var l = tuner.Layers;
        Assert.Equal(4, l["model.layers.0.self_attn.q_proj"].Adapters["default"].Rank);
        Assert.Equal(2, l["model.layers.1.self_attn.q_proj"].Adapters["default"].Rank);
        Assert.Equal(new long[] { 2, 64 }, l["model.layers.1.self_attn.q_proj"].Adapters["default"].A.shape);
        Assert.Equal(4.0, l["model.layers.1.self_attn.q_proj"].Adapters["default"].Scaling, 12);
        Assert.Equal(6, l["model.layers.0.self_attn.v_proj"].Adapters["default"].Rank);
        Assert.Equal(0.5, l["model.layers.0.self_attn.v_proj"].Adapters["default"].Scaling, 12);
        Assert.Equal(2.0, l["model.layers.0.self_attn.q_proj"].Adapters["default"].Scaling, 12);
    }

    [Fact]
    public void A_refused_config_leaves_the_model_unwrapped()
    {
        using var scope = NewDisposeScope();
        using var model = Build("llama");
        using var tuner = new LoraModel(model);
        Assert.Throws<InvalidAdapterException>(() => tuner.AddAdapter("default", Config("q_proj", "lm_head")));
        Assert.Empty(tuner.Layers);
        Assert.Empty(tuner.Configs);
        Assert.All(model.LinearLayers, l => Assert.IsNotType<LoraLinear>(l));
    }

    [Fact]
    public void Deleting_the_last_adapter_puts_the_base_layers_back()
    {
        using var scope = NewDisposeScope();
        using var model = Build("llama");
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("a", Config("q_proj"));
        tuner.AddAdapter("b", Config("q_proj", "v_proj"));
        Assert.Equal(4, model.LinearLayers.Count(l => l is LoraLinear));
        tuner.DeleteAdapter("b");
        Assert.Equal(2, model.LinearLayers.Count(l => l is LoraLinear));
        // As PEFT: deleting the active adapter activates the first one left.
        Assert.Equal(new[] { "a" }, tuner.ActiveAdapters);
        tuner.DeleteAdapter("a");
        Assert.All(model.LinearLayers, l => Assert.IsNotType<LoraLinear>(l));
    }
}
