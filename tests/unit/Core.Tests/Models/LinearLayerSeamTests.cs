using System.Linq;
using TrainableTokens.Core.Models;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Models;

/// <summary>The seam a second tuner (LoRA) wraps: every projection by its PEFT module path, replaceable and restorable.</summary>
public sealed class LinearLayerSeamTests
{
    private static readonly long[] Sequence = { 5, 17, 3, 99, 42, 7, 64, 1 };

    /// <summary>A wrapper as a tuner would write one: the base layer's output plus a constant.</summary>
    private sealed class PlusConstant : ILinearLayer
    {
        public PlusConstant(ILinearLayer inner) => Base = inner;
        public ILinearLayer Base { get; }
        public int Calls { get; private set; }
        public string Path => Base.Path;
        public Tensor Weight => Base.Weight;
        public Tensor? Bias => Base.Bias;
        public bool FanInFanOut => Base.FanInFanOut;

        public Tensor Forward(Tensor x)
        {
            Calls++;
            return Base.Forward(x) + 1.0;
        }
    }

    [Theory]
    [InlineData("llama", "model.layers.0.self_attn.q_proj")]
    [InlineData("gemma", "model.layers.1.mlp.down_proj")]
    [InlineData("gpt2", "transformer.h.0.attn.c_attn")]
    [InlineData("gpt2", "transformer.h.1.mlp.c_fc")]
    public void Wrapping_a_projection_by_path_changes_the_output_and_unwrapping_restores_it_exactly(string type, string path)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(type);
        using var before = model.Forward(TinyModels.Ids(Sequence));
        var original = model.LinearLayers[path];
        var wrapper = new PlusConstant(original);
        model.LinearLayers[path] = wrapper;
        using (var wrapped = model.Forward(TinyModels.Ids(Sequence)))
            Assert.True((wrapped.Logits - before.Logits).abs().max().item<float>() > 1e-4);
        Assert.Equal(1, wrapper.Calls);
        Assert.Same(wrapper, model.LinearLayers[path]);

        model.LinearLayers[path] = wrapper.Base;
        using var after = model.Forward(TinyModels.Ids(Sequence));
        Assert.Same(original, model.LinearLayers[path]);
        Assert.True(after.Logits.eq(before.Logits).all().item<bool>());
        Assert.Equal(1, wrapper.Calls);
    }

    [Fact]
    public void Llama_projections_are_named_as_peft_names_them_and_hold_the_checkpoint_tensors()
    {
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", AttentionBias = true });
        var expected = Enumerable.Range(0, model.Config.NumLayers).SelectMany(l =>
            new[] { "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj" }
                .Select(n => $"model.layers.{l}.{n}"));
        Assert.Equal(expected, model.LinearLayers.Paths);
        foreach (var layer in model.LinearLayers)
        {
            Assert.Same(model.Weights[layer.Path + ".weight"], layer.Weight);
            Assert.Same(layer.Path.Contains("mlp") ? null : model.Weights[layer.Path + ".bias"], layer.Bias);
            Assert.False(layer.FanInFanOut);
        }
    }

    [Fact]
    public void Gpt2_conv1d_projections_say_their_weight_is_stored_in_by_out()
    {
        using var model = TinyModels.Build("gpt2");
        Assert.Equal(new[] { "attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj" }.Select(n => "transformer.h.0." + n), model.LinearLayers.Paths.Take(4));
        var qkv = model.LinearLayers["transformer.h.0.attn.c_attn"];
        Assert.True(qkv.FanInFanOut);
        Assert.Equal(new long[] { model.Config.HiddenSize, 3L * model.Config.HiddenSize }, qkv.Weight.shape);
        Assert.Same(model.Weights["transformer.h.0.attn.c_attn.bias"], qkv.Bias);
    }

    [Fact]
    public void A_replacement_must_name_an_existing_path_and_carry_that_path()
    {
        using var model = TinyModels.Build("llama");
        var q = model.LinearLayers["model.layers.0.self_attn.q_proj"];
        var unknown = Assert.Throws<System.ArgumentException>(() => model.LinearLayers["model.layers.0.self_attn.qkv_proj"] = q);
        Assert.Contains("model.layers.0.self_attn.qkv_proj", unknown.Message);
        var mismatch = Assert.Throws<System.ArgumentException>(() => model.LinearLayers["model.layers.0.self_attn.k_proj"] = q);
        Assert.Contains("model.layers.0.self_attn.q_proj", mismatch.Message);
        Assert.Same(q, model.LinearLayers["model.layers.0.self_attn.q_proj"]);
        Assert.NotSame(q, model.LinearLayers["model.layers.0.self_attn.k_proj"]);
    }

    [Fact]
    public void Every_supported_model_type_has_a_decoder_spec()
    {
        foreach (var type in ModelArchitectures.Supported)
            Assert.NotNull(ModelArchitectures.Spec(type));
        Assert.Throws<System.ArgumentException>(() => ModelArchitectures.Spec("mixtral"));
    }
}
