using System;
using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Tuners;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Tuners;

/// <summary>What every tuner shares: one module matcher, one token-id check, one adapter registry.</summary>
public sealed class TunerBaseTests
{
    private static readonly string[] Paths =
    {
        "model.embed_tokens", "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.10.mlp.down_proj", "lm_head",
    };

    public static TheoryData<string[]?, string?, string[]> Cases => new()
    {
        { new[] { "q_proj", "lm_head" }, null, new[] { "model.layers.0.self_attn.q_proj", "lm_head" } },
        { new[] { "proj" }, null, Array.Empty<string>() },
        { new[] { "model.embed_tokens" }, null, new[] { "model.embed_tokens" } },
        { null, @".*\.(q|v)_proj", new[] { "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj" } },
        { null, "embed_tokens", Array.Empty<string>() },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_tuner_and_preflight_match_target_modules_by_the_same_rule(string[]? names, string? pattern, string[] expected)
    {
        Assert.Equal(expected, ModuleMatch.Select(names, pattern, Paths));
        var tokens = names is not null ? TargetModules.Names(names) : TargetModules.Regex(pattern!);
        var lora = names is not null ? LoraTargets.List(names) : LoraTargets.FromString(pattern!);
        var preflight = names is not null ? StringOrList.FromList(names) : StringOrList.FromString(pattern!);
        Assert.Equal(expected, Paths.Where(tokens.Matches));
        Assert.Equal(expected, Paths.Where(lora.Matches));
        Assert.Equal(expected, TargetModuleMatcher.Select(preflight, Paths, "model.embed_tokens"));
    }

    [Theory]
    [InlineData("down_proj", "model.layers.10.mlp.down_proj", true)]
    [InlineData("mlp", "model.layers.10.mlp.down_proj", true)]
    [InlineData("layers.10", "model.layers.10.mlp.down_proj", true)]
    [InlineData("own_proj", "model.layers.10.mlp.down_proj", false)]
    [InlineData("layers.1", "model.layers.10.mlp.down_proj", false)]
    public void A_module_inside_a_saved_module_is_never_a_LoRA_target(string saved, string path, bool inside) =>
        Assert.Equal(inside, ModuleMatch.InSavedModule(new[] { saved }, path));

    [Fact]
    public void Token_ids_are_checked_for_range_repeats_overlap_and_finiteness_in_one_place()
    {
        Assert.Equal(new long[] { 10, -1 }, TokenIndexCheck.Outside(new long[] { 3, 10, -1, 10 }, 10));
        Assert.Equal(new long[] { 3 }, TokenIndexCheck.Repeated(new long[] { 3, 4, 3 }));
        Assert.Contains("outside the vocabulary (0 to 9)", Assert.Throws<InvalidAdapterException>(() => TokenIndexCheck.Ensure(new long[] { 1, 12 }, 10, "a")).Message);
        Assert.Contains("more than once", Assert.Throws<InvalidAdapterException>(() => TokenIndexCheck.Ensure(new long[] { 1, 1 }, 10, "a")).Message);
        Assert.Contains("no token indices", Assert.Throws<InvalidAdapterException>(() => TokenIndexCheck.Ensure(Array.Empty<long>(), 10, "a")).Message);
        TokenIndexCheck.EnsureDisjoint(new[] { ("a", (IEnumerable<long>)new long[] { 1, 2 }), ("b", new long[] { 3 }) });
        var e = Assert.Throws<AdapterConflictException>(() => TokenIndexCheck.EnsureDisjoint(new[] { ("a", (IEnumerable<long>)new long[] { 1, 2 }), ("b", new long[] { 2, 3 }) }));
        Assert.Equal(("b", "a"), (e.Adapter, e.Other));
        Assert.Equal(new long[] { 2 }, e.Overlap);
        using var scope = NewDisposeScope();
        Assert.True(TokenIndexCheck.AllFinite(ones(2, 3)));
        Assert.False(TokenIndexCheck.AllFinite(tensor(new[] { 1f, float.NaN })));
        Assert.Equal("1, 2, 3, 4, 5 and 2 more", TokenIndexCheck.Few(new[] { 1, 2, 3, 4, 5, 6, 7 }));
    }

    [Fact]
    public void The_registry_keeps_order_the_active_set_and_the_enabled_flag()
    {
        var registry = new AdapterRegistry<int>();
        registry.Set("a", 1);
        registry.Set("b", 2);
        registry.Set("a", 3);
        Assert.Equal(new[] { "a", "b" }, registry.Names);
        Assert.Equal(3, registry.Get("a"));
        registry.Enabled = false;
        registry.SetActive(new[] { "b", "a", "b" });
        Assert.Equal(new[] { "b", "a" }, registry.Active);
        Assert.True(registry.Enabled);
        Assert.Contains("Adapters: a, b", Assert.Throws<ArgumentException>(() => registry.SetActive(new[] { "c" })).Message);
        Assert.Equal(new[] { "b", "a" }, registry.Active);
        registry.Remove("b", promoteFirst: false);
        Assert.Equal(new[] { "a" }, registry.Active);
        registry.Remove("a", promoteFirst: true);
        Assert.Empty(registry.Active);
        registry.Set("x", 0);
        registry.Set("y", 0);
        registry.SetActive(new[] { "y" });
        registry.Remove("y", promoteFirst: true);
        Assert.Equal(new[] { "x" }, registry.Active);
        Assert.Throws<ArgumentException>(() => registry.Remove("nope", promoteFirst: true));
    }
}
