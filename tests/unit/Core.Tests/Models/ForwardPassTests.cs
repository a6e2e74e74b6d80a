using System;
using System.Linq;
using TrainableTokens.Core.Models;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Models;

public sealed class ForwardPassTests
{
    private static readonly long[] Sequence = { 5, 17, 3, 99, 42, 7, 64, 1 };

    [Theory]
    [MemberData(nameof(TinyModels.Architectures), MemberType = typeof(TinyModels))]
    public void Returns_logits_and_one_hidden_state_per_layer_plus_the_embedding(string type)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(type);
        using var output = model.Forward(TinyModels.Ids(Sequence), outputHiddenStates: true);
        Assert.Equal(new long[] { 1, 8, model.Config.VocabSize }, output.Logits.shape);
        Assert.Equal(model.Config.NumLayers + 1, output.HiddenStates.Count);
        Assert.All(output.HiddenStates, h => Assert.Equal(new long[] { 1, 8, model.Config.HiddenSize }, h.shape));
        Assert.False(output.Logits.isnan().any().item<bool>());
    }

    [Theory]
    [MemberData(nameof(TinyModels.Architectures), MemberType = typeof(TinyModels))]
    public void Hidden_state_zero_is_the_embedding_output_exactly(string type)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(type);
        using var output = model.Forward(TinyModels.Ids(Sequence), outputHiddenStates: true);
        var rows = model.InputEmbedding.Weight.index_select(0, tensor(Sequence)).unsqueeze(0);
        var expected = type switch
        {
            "gemma" or "gemma2" or "gemma3_text" or "gemma3" => rows * tensor(Math.Sqrt(model.Config.HiddenSize), rows.dtype),
            "gpt2" => rows + model.Weights["transformer.wpe.weight"].narrow(0, 0, Sequence.Length).unsqueeze(0),
            _ => rows,
        };
        Assert.True(expected.eq(output.HiddenStates[0]).all().item<bool>());
    }

    [Theory]
    [MemberData(nameof(TinyModels.Architectures), MemberType = typeof(TinyModels))]
    public void Earlier_positions_do_not_see_later_tokens(string type)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(type);
        var changed = (long[])Sequence.Clone();
        changed[6] = 11;
        using var a = model.Forward(TinyModels.Ids(Sequence));
        using var b = model.Forward(TinyModels.Ids(changed));
        Assert.True(a.Logits.narrow(1, 0, 6).eq(b.Logits.narrow(1, 0, 6)).all().item<bool>());
        Assert.False(a.Logits.narrow(1, 6, 2).allclose(b.Logits.narrow(1, 6, 2)));
    }

    [Theory]
    [MemberData(nameof(TinyModels.Architectures), MemberType = typeof(TinyModels))]
    public void Right_padding_with_a_mask_leaves_the_real_tokens_unchanged(string type)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(type);
        long[] shorter = { 9, 8, 7, 6, 5 };
        using var alone = model.Forward(TinyModels.Ids(shorter));
        var batch = TinyModels.Ids(Sequence, shorter.Concat(new long[] { 0, 0, 0 }).ToArray());
        var mask = TinyModels.Ids(Enumerable.Repeat(1L, 8).ToArray(), new long[] { 1, 1, 1, 1, 1, 0, 0, 0 });
        using var padded = model.Forward(batch, mask);
        using var first = model.Forward(TinyModels.Ids(Sequence));
        Assert.True(padded.Logits[1].narrow(0, 0, 5).allclose(alone.Logits[0], rtol: 1e-5, atol: 1e-5));
        Assert.True(padded.Logits[0].allclose(first.Logits[0], rtol: 1e-5, atol: 1e-5));
    }

    [Theory]
    [MemberData(nameof(TinyModels.Architectures), MemberType = typeof(TinyModels))]
    public void Left_padding_with_a_mask_and_shifted_positions_leaves_the_real_tokens_unchanged(string type)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(type);
        long[] shorter = { 9, 8, 7, 6, 5 };
        using var alone = model.Forward(TinyModels.Ids(shorter));
        var batch = TinyModels.Ids(Sequence, new long[] { 0, 0, 0 }.Concat(shorter).ToArray());
        var mask = TinyModels.Ids(Enumerable.Repeat(1L, 8).ToArray(), new long[] { 0, 0, 0, 1, 1, 1, 1, 1 });
        var positions = (mask.cumsum(1) - 1).clamp_min(0);
        using var padded = model.Forward(batch, mask, positions);
        Assert.True(padded.Logits[1].narrow(0, 3, 5).allclose(alone.Logits[0], rtol: 1e-5, atol: 1e-5));
        Assert.False(padded.Logits.isnan().any().item<bool>());
    }

    [Fact]
    public void Grouped_query_attention_equals_full_attention_with_repeated_key_value_heads()
    {
        using var scope = NewDisposeScope();
        using var grouped = TinyModels.Build(new TinyModelSpec { ModelType = "llama", NumHeads = 4, NumKeyValueHeads = 2, Seed = 3 });
        var spec = new TinyModelSpec { ModelType = "llama", NumHeads = 4, NumKeyValueHeads = 4, Seed = 3 };
        var config = TinyModels.Config(spec);
        var weights = grouped.Weights.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        int headDim = config.HeadDim;
        foreach (var name in weights.Keys.Where(k => k.EndsWith("k_proj.weight") || k.EndsWith("v_proj.weight")).ToList())
        {
            // Query head h reads key/value head h / 2: each kv head is used by two consecutive query heads.
            var heads = weights[name].view(2, headDim, -1);
            weights[name] = heads.repeat_interleave(2, 0).reshape(4 * headDim, -1);
        }
        using var full = ModelLoader.Create(config, weights);
        using var a = grouped.Forward(TinyModels.Ids(Sequence));
        using var b = full.Forward(TinyModels.Ids(Sequence));
        Assert.True(a.Logits.allclose(b.Logits, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void A_sliding_window_hides_tokens_further_back_than_the_window()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "mistral", NumLayers = 1, SlidingWindow = 3 });
        var changed = (long[])Sequence.Clone();
        changed[0] = 77;
        using var a = model.Forward(TinyModels.Ids(Sequence));
        using var b = model.Forward(TinyModels.Ids(changed));
        // With one layer and a window of 3, position t sees t-2..t: positions 3.. do not see position 0.
        Assert.False(a.Logits.narrow(1, 2, 1).allclose(b.Logits.narrow(1, 2, 1)));
        Assert.True(a.Logits.narrow(1, 3, 5).eq(b.Logits.narrow(1, 3, 5)).all().item<bool>());
    }

    [Fact]
    public void Tied_models_use_the_embedding_tensor_as_the_head()
    {
        using var tied = TinyModels.Build(new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true });
        using var untied = TinyModels.Build(new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = false });
        Assert.Same(tied.InputEmbedding.Weight, tied.Head.Weight);
        Assert.False(tied.Weights.ContainsKey("lm_head.weight"));
        Assert.NotSame(untied.InputEmbedding.Weight, untied.Head.Weight);
        Assert.True(untied.Weights.ContainsKey("lm_head.weight"));
    }

    [Fact]
    public void A_token_id_past_the_vocabulary_is_an_error_naming_the_id_and_the_size()
    {
        using var model = TinyModels.Build("llama");
        var error = Assert.Throws<TokenIdOutOfRangeException>(() => model.Forward(TinyModels.Ids(new long[] { 1, 128 })));
        Assert.Contains("128", error.Message);
        Assert.Contains("0 to 127", error.Message);
    }

    [Fact]
    public void Bfloat16_weights_give_logits_close_to_float32()
    {
        using var scope = NewDisposeScope();
        using var f32 = TinyModels.Build(new TinyModelSpec { ModelType = "llama" });
        using var bf16 = TinyModels.Build(new TinyModelSpec { ModelType = "llama" }, ScalarType.BFloat16);
        using var a = f32.Forward(TinyModels.Ids(Sequence));
        using var b = bf16.Forward(TinyModels.Ids(Sequence));
        Assert.Equal(ScalarType.BFloat16, b.Logits.dtype);
        Assert.True(a.Logits.allclose(b.Logits.to(ScalarType.Float32), rtol: 0.05, atol: 0.05));
    }

    [Fact]
    public void Llama3_rope_scaling_keeps_short_wavelengths_and_divides_long_ones()
    {
        using var scope = NewDisposeScope();
        var scaling = new RopeParameters { Type = "llama3", Theta = 500000, Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositions = 64 };
        using var plain = new RotaryEmbedding(16, RopeParameters.Default with { Theta = 500000 }, 128, CPU);
        using var scaled = new RotaryEmbedding(16, scaling, 128, CPU);
        var positions = tensor(new long[] { 0, 1 }, new long[] { 1, 2 });
        var (cosPlain, _) = plain.Angles(positions, ScalarType.Float32);
        var (cosScaled, _) = scaled.Angles(positions, ScalarType.Float32);
        // Frequency 0 (wavelength 2*pi) is far below high_freq_wavelen = 16: unchanged. The last is far above 64: divided by 8.
        Assert.Equal(cosPlain[0, 1, 0].item<float>(), cosScaled[0, 1, 0].item<float>());
        double invLast = 1.0 / Math.Pow(500000, 14.0 / 16);
        Assert.Equal(Math.Cos(invLast / 8), cosScaled[0, 1, 7].item<float>(), 6);
    }
}
