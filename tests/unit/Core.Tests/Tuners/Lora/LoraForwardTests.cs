using System;
using System.Linq;
using TrainableTokens.Core.Tuners.Lora;
using static TorchSharp.torch;
using static TrainableTokens.Core.Tests.Tuners.Lora.LoraTestModels;

namespace TrainableTokens.Core.Tests.Tuners.Lora;

/// <summary>LoRA's forward, scaling, init and gradients against values computed here independently.</summary>
public sealed class LoraForwardTests
{
    [Theory]
    [InlineData("llama")]
    [InlineData("qwen3")]
    public void Each_wrapped_projection_computes_W_x_plus_scaled_B_A_x(string type)
    {
        using var scope = NewDisposeScope();
        using var model = Build(type);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Config("q_proj", "down_proj"));
        Randomize(tuner);
        Assert.NotEmpty(tuner.Layers);
        foreach (var layer in tuner.Layers.Values)
        {
            var x = randn(new long[] { 2, 3, layer.InFeatures }, generator: new Generator(3));
            var w = layer.Adapters["default"];
            // In float64, from the raw tensors: W x (+ bias) + alpha/r * B (A x).
            var x64 = x.to(ScalarType.Float64);
            var expected = x64.matmul(layer.Weight.to(ScalarType.Float64).t())
                .add(x64.matmul(w.A.detach().to(ScalarType.Float64).t()).matmul(w.B.detach().to(ScalarType.Float64).t()).mul(8.0 / 4));
            if (layer.Bias is { } bias) expected = expected.add(bias.to(ScalarType.Float64));
            var actual = layer.Forward(x).to(ScalarType.Float64);
            Assert.True(actual.allclose(expected, rtol: 1e-5, atol: 1e-5), $"{layer.Path}: max error {(actual - expected).abs().max().item<double>()}");
        }
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("qwen3")]
    public void Model_logits_equal_a_copy_whose_weights_hold_W_plus_scaled_B_A(string type)
    {
        using var scope = NewDisposeScope();
        using var model = Build(type);
        using var reference = Build(type);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Config("q_proj", "v_proj", "o_proj", "up_proj"));
        Randomize(tuner);
        using (no_grad())
        {
            foreach (var layer in tuner.Layers.Values)
            {
                var w = layer.Adapters["default"];
                reference.Weights[layer.Path + ".weight"].add_(w.B.detach().matmul(w.A.detach()).mul(2.0));
            }
        }
        var expected = reference.Forward(Ids()).Logits;
        var actual = model.Forward(Ids()).Logits;
        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-4), $"max error {(actual - expected).abs().max().item<float>()}");
        Assert.False(Same(actual, Build(type).Forward(Ids()).Logits), "the adapter must change the logits");
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void Default_init_has_B_zero_and_gives_the_base_logits_exactly(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var model = Build("llama", dtype: dtype);
        var before = model.Forward(Ids()).Logits;
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Config() with { TargetModules = LoraTargets.FromString("all-linear") }, new Generator(1));
        foreach (var layer in tuner.Layers.Values)
        {
            Assert.Equal(0, layer.Adapters["default"].B.abs().max().item<float>());
            Assert.True(layer.Adapters["default"].A.abs().max().item<float>() > 0);
        }
        Assert.True(Same(before, model.Forward(Ids()).Logits));
    }

    [Fact]
    public void Scaling_is_alpha_over_r_or_over_sqrt_r_with_rslora()
    {
        using var scope = NewDisposeScope();
        using var model = Build("llama");
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("plain", Config("q_proj") with { R = 16, LoraAlpha = 32 });
        tuner.AddAdapter("rs", Config("q_proj") with { R = 16, LoraAlpha = 32, UseRslora = true });
        var layer = tuner.Layers.Values.First();
        Assert.Equal(2.0, layer.Adapters["plain"].Scaling, 12);
        Assert.Equal(8.0, layer.Adapters["rs"].Scaling, 12);
        Assert.Equal(16, layer.Adapters["rs"].Rank);
    }

    [Fact]
    public void Gaussian_init_draws_A_with_std_one_over_r_and_zero_B()
    {
        using var scope = NewDisposeScope();
        using var model = Build("llama");
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Config() with { R = 4, TargetModules = LoraTargets.FromString("all-linear"), InitLoraWeights = LoraInit.Gaussian }, new Generator(5));
        var a = cat(tuner.Layers.Values.Select(l => l.Adapters["default"].A.detach().flatten()).ToArray());
        Assert.True(a.numel() >= 4096);
        Assert.InRange(a.std().item<float>(), 0.25 * 0.95, 0.25 * 1.05);
        Assert.InRange(a.mean().item<float>(), -0.02, 0.02);
        Assert.All(tuner.Layers.Values, l => Assert.Equal(0, l.Adapters["default"].B.abs().max().item<float>()));
    }

    [Fact]
    public void Default_init_draws_A_kaiming_uniform_within_one_over_sqrt_fan_in()
    {
        using var scope = NewDisposeScope();
        using var model = Build("llama");
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Config("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj") with { R = 8 }, new Generator(5));
        var a = cat(tuner.Layers.Values.Select(l => l.Adapters["default"].A.detach().flatten()).ToArray());
        var bound = 1 / Math.Sqrt(64);
        Assert.True(a.abs().max().item<float>() <= bound);
        // Uniform on [-b, b] has std b/sqrt(3).
        Assert.InRange(a.std().item<float>(), bound / Math.Sqrt(3) * 0.95, bound / Math.Sqrt(3) * 1.05);
    }

    [Fact]
    public void The_same_seed_gives_the_same_pairs()
    {
        using var scope = NewDisposeScope();
        using var m1 = Build("llama");
        using var m2 = Build("llama");
        using var t1 = new LoraModel(m1);
        using var t2 = new LoraModel(m2);
        t1.AddAdapter("default", Config("q_proj") with { InitLoraWeights = LoraInit.Random }, new Generator(9));
        t2.AddAdapter("default", Config("q_proj") with { InitLoraWeights = LoraInit.Random }, new Generator(9));
        Assert.All(t1.TrainableParameters("default").Zip(t2.TrainableParameters("default")), p => Assert.True(Same(p.First, p.Second)));
    }

    [Fact]
    public void Gradients_reach_A_and_B_and_no_base_weight()
    {
        using var scope = NewDisposeScope();
        using var model = Build("llama");
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Config("q_proj", "v_proj", "down_proj"));
        Randomize(tuner);
        model.Forward(Ids()).Logits.pow(2).mean().backward();
        var parameters = tuner.TrainableParameters("default");
        Assert.Equal(tuner.Layers.Count * 2, parameters.Count);
        Assert.All(parameters, p => Assert.True(p.grad is { } g && g.abs().sum().item<float>() > 0));
        Assert.All(model.Weights.Values, w => Assert.True(w.grad is null && !w.requires_grad));
        Assert.Equal(tuner.Layers.Values.Sum(l => 4 * (l.InFeatures + l.OutFeatures)), tuner.TrainableParameterCount("default"));
    }

    [Fact]
    public void Dropout_applies_only_while_training()
    {
        using var scope = NewDisposeScope();
        using var model = Build("llama");
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Config("q_proj") with { LoraDropout = 0.5 });
        Randomize(tuner);
        var eval1 = model.Forward(Ids()).Logits;
        Assert.True(Same(eval1, model.Forward(Ids()).Logits));
        tuner.Training = true;
        manual_seed(1);
        Assert.False(Same(eval1, model.Forward(Ids()).Logits));
    }

    [Fact]
    public void Disable_gives_base_logits_exactly_and_enable_restores_the_adapter()
    {
        using var scope = NewDisposeScope();
        using var model = Build("llama");
        var baseLogits = model.Forward(Ids()).Logits;
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Config("q_proj", "up_proj"));
        Randomize(tuner);
        var adapted = model.Forward(Ids()).Logits;
        tuner.DisableAdapters();
        Assert.True(Same(baseLogits, model.Forward(Ids()).Logits));
        tuner.EnableAdapters();
        Assert.True(Same(adapted, model.Forward(Ids()).Logits));
    }

    [Fact]
    public void Merge_matches_the_adapter_and_unmerge_restores_the_weights()
    {
        using var scope = NewDisposeScope();
        using var model = Build("llama");
        var baseLogits = model.Forward(Ids()).Logits;
        var weightsBefore = model.Weights.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Config("q_proj", "up_proj"));
        Randomize(tuner);
        var adapted = model.Forward(Ids()).Logits;
        tuner.Merge();
        Assert.True(model.Forward(Ids()).Logits.allclose(adapted, rtol: 1e-4, atol: 1e-5));
        Assert.False(Same(weightsBefore["model.layers.0.self_attn.q_proj.weight"], model.Weights["model.layers.0.self_attn.q_proj.weight"]));
        tuner.Unmerge();
        foreach (var (name, before) in weightsBefore)
            Assert.True(model.Weights[name].allclose(before, rtol: 0, atol: 1e-6), name);
        tuner.Dispose();
        Assert.True(model.Forward(Ids()).Logits.allclose(baseLogits, rtol: 0, atol: 1e-5));
        Assert.All(model.LinearLayers, l => Assert.IsNotType<LoraLinear>(l));
    }

    [Fact]
    public void Safe_merge_refuses_non_finite_results_and_changes_no_weight()
    {
        using var scope = NewDisposeScope();
        using var model = Build("llama");
        var weightsBefore = model.Weights.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Config("q_proj", "up_proj"));
        Randomize(tuner);
        using (no_grad()) tuner.Layers.Values.Last().Adapters["default"].B[0, 0] = float.NaN;
        var e = Assert.Throws<InvalidAdapterException>(() => tuner.Merge(safe: true));
        Assert.Contains("NaN", e.Message);
        foreach (var (name, before) in weightsBefore)
            Assert.True(Same(model.Weights[name], before), name);
    }
}
