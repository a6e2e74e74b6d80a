using System;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tests.Models;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Tuners;

/// <summary>PEFT's documented Trainable Tokens behaviours, on tiny models.</summary>
public sealed class TrainableTokensModelTests
{
    private static readonly long[] WithSelected = { 3, 5, 9, 6, 11, 5 };
    private static readonly long[] WithoutSelected = { 3, 9, 11, 12, 40, 2 };

    private static TrainableTokensAdapterConfig Config(params long[] ids) => new() { TokenIndices = ids };

    /// <summary>An adapter on tokens 5 and 6 with rows set to recognisable values, as if trained.</summary>
    private static TrainableTokensModel Adapted(CausalLanguageModel model, string name = "default", long[]? ids = null, TargetModules? targets = null, int seed = 1)
    {
        var tuner = new TrainableTokensModel(model);
        tuner.AddAdapter(name, Config(ids ?? new long[] { 5, 6 }) with { TargetModules = targets });
        using var noGrad = no_grad();
        foreach (var p in tuner.TrainableParameters(name))
            p.copy_(randn(p.shape, generator: new Generator((ulong)seed)));
        return tuner;
    }

    private static ModelOutput Run(CausalLanguageModel model, long[] ids) => model.Forward(TinyModels.Ids(ids), outputHiddenStates: true);

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Theory]
    [InlineData("llama", false)]
    [InlineData("llama", true)]
    [InlineData("gpt2", true)]
    public void Stand_alone_use_changes_outputs_at_selected_tokens_only(string type, bool tied)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = type, TieWordEmbeddings = tied });
        using var before = Run(model, WithSelected);
        using var beforeWithout = Run(model, WithoutSelected);
        using var tuner = Adapted(model);
        using var after = Run(model, WithSelected);
        using var afterWithout = Run(model, WithoutSelected);

        var changed = (before.HiddenStates[0] - after.HiddenStates[0]).abs().sum(-1)[0].gt(0);
        Assert.Equal(WithSelected.Select(t => t is 5 or 6).ToArray(), changed.data<bool>().ToArray());
        Assert.True(Same(beforeWithout.HiddenStates[0], afterWithout.HiddenStates[0]));
        if (tied)
        {
            // The tied head follows the embedding: logits change in the columns of the trained tokens only.
            var columns = (beforeWithout.Logits - afterWithout.Logits).abs().sum(new long[] { 0, 1 }).gt(0);
            Assert.Equal(Enumerable.Range(0, 128).Select(i => i is 5 or 6).ToArray(), columns.data<bool>().ToArray());
        }
        else
        {
            Assert.True(Same(beforeWithout.Logits, afterWithout.Logits));
        }
    }

    [Fact]
    public void The_tied_head_scores_the_trained_rows()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true });
        using var tuner = Adapted(model);
        using var output = Run(model, WithoutSelected);
        var final = output.HiddenStates[^1];
        var rows = tuner.Layers["model.embed_tokens"].Adapters["default"].Values;
        var expected = final.matmul(rows.t());
        Assert.True(output.Logits.index_select(-1, tensor(new long[] { 5, 6 })).allclose(expected, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void An_explicitly_targeted_untied_head_gets_its_own_rows()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = false });
        using var tuner = Adapted(model, targets: TargetModules.Names(new[] { "embed_tokens", "lm_head" }));
        Assert.Equal(new[] { "lm_head", "model.embed_tokens" }, tuner.Layers.Keys.OrderBy(k => k, StringComparer.Ordinal));
        using var output = Run(model, WithoutSelected);
        var headRows = tuner.Layers["lm_head"].Adapters["default"].Values;
        var expected = output.HiddenStates[^1].matmul(headRows.t());
        Assert.True(output.Logits.index_select(-1, tensor(new long[] { 5, 6 })).allclose(expected, rtol: 1e-5, atol: 1e-6));
    }

    [Theory]
    [InlineData("llama", "model.embed_tokens")]
    [InlineData("gemma", "model.embed_tokens")]
    [InlineData("gpt2", "transformer.wte")]
    public void The_default_target_is_the_input_embedding_saved_as_its_full_name(string type, string path)
    {
        using var model = TinyModels.Build(type);
        using var tuner = new TrainableTokensModel(model);
        tuner.AddAdapter("default", Config(1, 2));
        Assert.Equal(new[] { path }, tuner.Layers.Keys);
        Assert.Equal(path, tuner.Configs["default"].TargetModules!.Pattern);
    }

    [Fact]
    public void A_missing_target_lists_the_embedding_modules()
    {
        using var model = TinyModels.Build("llama");
        using var tuner = new TrainableTokensModel(model);
        var error = Assert.Throws<InvalidAdapterException>(() => tuner.AddAdapter("a", Config(1) with { TargetModules = TargetModules.Names(new[] { "wte" }) }));
        Assert.Contains("model.embed_tokens", error.Message);
        Assert.Contains("lm_head", error.Message);
        Assert.Empty(tuner.Layers);
    }

    [Theory]
    [InlineData(new long[] { 1, 128 }, "outside the vocabulary")]
    [InlineData(new long[] { -1 }, "outside the vocabulary")]
    [InlineData(new long[] { 4, 4 }, "more than once")]
    [InlineData(new long[0], "no token indices")]
    public void Bad_token_indices_are_refused_before_any_tensor_is_touched(long[] ids, string message)
    {
        using var model = TinyModels.Build("llama");
        using var tuner = new TrainableTokensModel(model);
        var error = Assert.Throws<InvalidAdapterException>(() => tuner.AddAdapter("a", Config(ids)));
        Assert.Contains(message, error.Message);
        Assert.Empty(tuner.Layers);
        Assert.Same(model.InputEmbedding, model.InputEmbedding as EmbeddingTable);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Merged_forward_equals_unmerged_forward_and_unmerge_restores_the_originals_bit_for_bit(bool tied)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = tied });
        var original = model.InputEmbedding.Weight.clone();
        using var tuner = Adapted(model);
        using var unmerged = Run(model, WithSelected);
        tuner.Merge();
        using var merged = Run(model, WithSelected);
        Assert.True(merged.Logits.allclose(unmerged.Logits, rtol: 1e-5, atol: 1e-6));
        Assert.True(Same(merged.HiddenStates[0], unmerged.HiddenStates[0]));
        Assert.False(Same(original, model.InputEmbedding.Weight));
        tuner.Unmerge();
        Assert.True(Same(original, model.InputEmbedding.Weight));
    }

    [Fact]
    public void Unmerge_with_random_init_restores_the_random_rows_as_PEFT_does()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build("llama");
        using var tuner = new TrainableTokensModel(model);
        tuner.AddAdapter("r", Config(5, 6) with { InitWeights = false }, new Generator(9));
        var originals = tuner.Layers["model.embed_tokens"].Adapters["r"].Originals.clone();
        using (no_grad()) tuner.TrainableParameters("r")[0].add_(1.0);
        tuner.Merge();
        tuner.Unmerge();
        Assert.True(Same(model.InputEmbedding.Weight.index_select(0, tensor(new long[] { 5, 6 })), originals));
    }

    [Fact]
    public void Safe_merge_rejects_NaN_rows_and_leaves_the_weight_untouched()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build("llama");
        var original = model.InputEmbedding.Weight.clone();
        using var tuner = Adapted(model);
        using (no_grad()) tuner.TrainableParameters("default")[0][0, 3] = tensor(float.NaN);
        var error = Assert.Throws<InvalidAdapterException>(() => tuner.Merge(safe: true));
        Assert.Contains("NaN", error.Message);
        Assert.True(Same(original, model.InputEmbedding.Weight));
    }

    [Fact]
    public void Overlapping_adapters_are_refused_naming_the_adapter_and_the_ids()
    {
        using var model = TinyModels.Build("llama");
        using var tuner = new TrainableTokensModel(model);
        tuner.AddAdapter("first", Config(5, 6, 7));
        tuner.AddAdapter("second", Config(7, 8));
        var error = Assert.Throws<AdapterConflictException>(() => tuner.SetActiveAdapters("first", "second"));
        Assert.Equal("second", error.Adapter);
        Assert.Equal(new long[] { 7 }, error.Overlap);
        Assert.Contains("'second'", error.Message);
        Assert.Contains("7", error.Message);
    }

    [Fact]
    public void Disjoint_adapters_combine()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build("llama");
        using var tuner = new TrainableTokensModel(model);
        tuner.AddAdapter("a", Config(5));
        tuner.AddAdapter("b", Config(6));
        using (no_grad())
        {
            tuner.TrainableParameters("a")[0].fill_(0.25);
            tuner.TrainableParameters("b")[0].fill_(-0.5);
        }
        tuner.SetActiveAdapters("a", "b");
        using var output = Run(model, WithSelected);
        var h0 = output.HiddenStates[0][0];
        Assert.True(h0[1].eq(0.25f).all().item<bool>());   // token 5
        Assert.True(h0[3].eq(-0.5f).all().item<bool>());   // token 6
        Assert.True(Same(h0[0], model.InputEmbedding.Weight[3]));
    }

    [Fact]
    public void Disabled_adapters_give_the_base_model_outputs_bit_for_bit_even_after_a_merge()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true });
        using var baseline = Run(model, WithSelected);
        using var tuner = Adapted(model);
        tuner.Merge();
        tuner.DisableAdapters();
        using var disabled = Run(model, WithSelected);
        Assert.True(Same(baseline.Logits, disabled.Logits));
        tuner.EnableAdapters();
        using var enabled = Run(model, WithSelected);
        Assert.False(Same(baseline.Logits, enabled.Logits));
    }

    [Fact]
    public void Merge_and_unload_gives_a_plain_model_with_the_head_still_tied()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "gemma" });
        using var tuner = Adapted(model);
        using var adapted = Run(model, WithSelected);
        var plain = tuner.MergeAndUnload();
        Assert.IsType<EmbeddingTable>(plain.InputEmbedding);
        Assert.IsType<LinearHead>(plain.Head);
        Assert.Same(plain.InputEmbedding.Weight, plain.Head.Weight);
        using var after = Run(plain, WithSelected);
        Assert.True(after.Logits.allclose(adapted.Logits, rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Gemma_scales_adapter_rows_like_base_rows()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "gemma" }, ScalarType.BFloat16);
        using var tuner = Adapted(model);
        using var output = Run(model, WithSelected);
        var row = tuner.TrainableParameters("default")[0][0].to(ScalarType.BFloat16);
        var expected = row * tensor(Math.Sqrt(model.Config.HiddenSize), ScalarType.BFloat16);
        Assert.True(Same(output.HiddenStates[0][0, 1], expected));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Training_steps_change_only_the_trainable_rows(bool tied)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = tied });
        var weightsBefore = model.Weights.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var tuner = new TrainableTokensModel(model);
        tuner.AddAdapter("default", Config(5, 6));
        var rows = tuner.TrainableParameters("default");
        var rowsBefore = rows[0].detach().clone();
        var optimizer = optim.AdamW(rows, lr: 0.05);
        var ids = TinyModels.Ids(WithSelected);
        for (int step = 0; step < 3; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            using var output = model.Forward(ids);
            var loss = nn.functional.cross_entropy(output.Logits[0, ..^1], ids[0, 1..]);
            loss.backward();
            Assert.Equal(new long[] { 2, 64 }, rows[0].grad!.shape);
            optimizer.step();
        }
        Assert.False(Same(rowsBefore, rows[0]));
        foreach (var (name, before) in weightsBefore)
        {
            Assert.True(Same(before, model.Weights[name]), $"{name} changed");
            Assert.False(model.Weights[name].requires_grad);
        }
    }

    [Fact]
    public void Deleting_an_adapter_removes_its_rows()
    {
        using var model = TinyModels.Build("llama");
        using var tuner = new TrainableTokensModel(model);
        tuner.AddAdapter("a", Config(5));
        tuner.AddAdapter("b", Config(6));
        tuner.DeleteAdapter("a");
        Assert.False(tuner.Layers["model.embed_tokens"].Adapters.ContainsKey("a"));
        Assert.Equal(new[] { "b" }, tuner.ActiveAdapters);
        Assert.Throws<ArgumentException>(() => tuner.SetActiveAdapters("a"));
    }
}
