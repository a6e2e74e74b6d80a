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

    [Fact]
    public void A_tied_model_targeting_embedding_and_head_gets_one_set_of_rows_that_the_head_follows_as_in_PEFT()
    {
        // PEFT replaces the explicitly targeted lm_head's layer with one tied to the embedding's (trainable_tokens/model.py).
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true });
        using var tuner = Adapted(model, targets: TargetModules.Names(new[] { "embed_tokens", "lm_head" }));
        Assert.Equal(new[] { "model.embed_tokens" }, tuner.Layers.Keys);
        var rows = Assert.Single(tuner.TrainableParameters("default"));
        Assert.True(tuner.TargetsOf(tuner.Configs["default"]).HeadFollowsEmbedding);
        using var output = Run(model, WithSelected);
        Assert.True(output.Logits.index_select(-1, tensor(new long[] { 5, 6 })).allclose(output.HiddenStates[^1].matmul(rows.t()), rtol: 1e-5, atol: 1e-6));
        Assert.True(Same(output.HiddenStates[0][0, 1], rows[0]));
    }

    [Fact]
    public void A_tied_model_targeting_only_the_head_wraps_the_head_alone_as_PEFT_does()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true });
        using var before = Run(model, WithSelected);
        using var tuner = Adapted(model, targets: TargetModules.Names(new[] { "lm_head" }));
        Assert.Equal(new[] { "lm_head" }, tuner.Layers.Keys);
        using var output = Run(model, WithSelected);
        Assert.True(Same(before.HiddenStates[0], output.HiddenStates[0]));   // the embedding reads the base rows
        var rows = tuner.TrainableParameters("default")[0];
        Assert.True(output.Logits.index_select(-1, tensor(new long[] { 5, 6 })).allclose(output.HiddenStates[^1].matmul(rows.t()), rtol: 1e-5, atol: 1e-6));
        // Merging writes into the shared weight, which the embedding uses too (PEFT's behaviour; preflight refuses to train this).
        tuner.Merge();
        Assert.True(Same(model.InputEmbedding.Weight.index_select(0, tensor(new long[] { 5, 6 })), rows.detach()));
    }

    [Fact]
    public void An_untied_head_trains_its_rows_with_the_embeddings_and_nothing_else_changes()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = false });
        var weightsBefore = model.Weights.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var tuner = new TrainableTokensModel(model);
        tuner.AddAdapter("default", Config(5, 6) with { TargetModules = TargetModules.Names(new[] { "embed_tokens", "lm_head" }) });
        var parameters = tuner.TrainableParameters("default");
        Assert.Equal(2, parameters.Count);
        Assert.Same(tuner.Layers["model.embed_tokens"].Adapters["default"].Values, parameters[0]);
        Assert.Same(tuner.Layers["lm_head"].Adapters["default"].Values, parameters[1]);
        var before = parameters.Select(p => p.detach().clone()).ToList();
        var optimizer = optim.AdamW(parameters, lr: 0.05);
        var ids = TinyModels.Ids(WithSelected);
        for (int step = 0; step < 3; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            using var output = model.Forward(ids);
            nn.functional.cross_entropy(output.Logits[0, ..^1], ids[0, 1..]).backward();
            Assert.All(parameters, p => Assert.Equal(new long[] { 2, 64 }, p.grad!.shape));
            optimizer.step();
        }
        Assert.False(Same(before[0], parameters[0]));
        Assert.False(Same(before[1], parameters[1]));
        foreach (var (name, weight) in weightsBefore)
            Assert.True(Same(weight, model.Weights[name]), $"{name} changed");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_head_bias_is_kept_in_the_overwritten_columns(bool untied)
    {
        // PEFT's unmerged Linear forward drops the bias (its issue #3649); merged, the bias is there. Here both agree.
        using var scope = NewDisposeScope();
        var spec = new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = !untied };
        var config = TinyModels.Config(spec);
        var weights = TinyModelFactory.RandomWeights(config, 0, ScalarType.Float32).ToDictionary(kv => kv.Key, kv => kv.Value);
        weights["lm_head.bias"] = randn(128, generator: new Generator(4));
        using var model = ModelLoader.Create(config, weights);
        var bias = model.Head.Bias!;
        using var plain = Run(model, WithSelected);
        Assert.True(plain.Logits.allclose(plain.HiddenStates[^1].matmul(model.Head.Weight.t()) + bias, rtol: 1e-5, atol: 1e-5));

        using var tuner = Adapted(model, targets: untied ? TargetModules.Names(new[] { "embed_tokens", "lm_head" }) : null);
        using var adapted = Run(model, WithSelected);
        var rows = tuner.TrainableParameters("default")[^1];
        var ids = tensor(new long[] { 5, 6 });
        var expected = adapted.HiddenStates[^1].matmul(rows.t()) + bias.index_select(0, ids);
        Assert.True(adapted.Logits.index_select(-1, ids).allclose(expected, rtol: 1e-5, atol: 1e-5));
        tuner.Merge();
        using var merged = Run(model, WithSelected);
        Assert.True(merged.Logits.allclose(adapted.Logits, rtol: 1e-5, atol: 1e-5));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Forward_and_backward_make_no_tensor_the_size_of_the_vocabulary_times_hidden(bool tied)
    {
        using var outer = NewDisposeScope();
        const int vocab = 4096, hidden = 64;
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = tied, VocabSize = vocab, HiddenSize = hidden, NumLayers = 1 });
        using var tuner = new TrainableTokensModel(model);
        tuner.AddAdapter("default", Config(5, 6) with { TargetModules = TargetModules.Names(new[] { "embed_tokens", "lm_head" }) });
        var ids = TinyModels.Ids(WithSelected);

        static bool Large(Tensor t) => !t.IsInvalid && t.numel() >= (long)vocab * hidden;
        // The probe sees a [vocab, hidden] copy, as PEFT's forward makes one (index_copy of the whole weight).
        using (var control = NewDisposeScope())
        {
            _ = model.InputEmbedding.Weight.index_copy(0, tensor(new long[] { 5 }), zeros(1, hidden));
            Assert.Contains(control.DisposablesView.OfType<Tensor>(), Large);
        }
        using var scope = NewDisposeScope();
        var embedded = model.InputEmbedding.Embed(ids);
        var logits = model.Head.Project(embedded);
        nn.functional.cross_entropy(logits[0], ids[0]).backward();
        Assert.DoesNotContain(scope.DisposablesView.OfType<Tensor>(), Large);
        Assert.All(tuner.TrainableParameters("default"), p => Assert.Equal(new long[] { 2, hidden }, p.grad!.shape));
        Assert.Null(model.Head.Weight.grad);
        Assert.Null(model.InputEmbedding.Weight.grad);
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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Unmerge_with_random_init_restores_the_weights_real_rows(bool untiedHead)
    {
        // PEFT's issue #3650: with init_weights false the random start was kept as "original", so unmerge wrote it into the weight.
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = !untiedHead });
        var embeddingBefore = model.InputEmbedding.Weight.clone();
        var headBefore = model.Head.Weight.clone();
        using var baseline = Run(model, WithSelected);
        using var tuner = new TrainableTokensModel(model);
        var targets = untiedHead ? TargetModules.Names(new[] { "embed_tokens", "lm_head" }) : null;
        tuner.AddAdapter("r", Config(5, 6) with { InitWeights = false, TargetModules = targets }, new Generator(9));
        using (no_grad()) foreach (var p in tuner.TrainableParameters("r")) p.add_(1.0);
        tuner.Merge();
        Assert.False(Same(embeddingBefore, model.InputEmbedding.Weight));
        tuner.Unmerge();
        Assert.True(Same(embeddingBefore, model.InputEmbedding.Weight));
        Assert.True(Same(headBefore, model.Head.Weight));
        tuner.DisableAdapters();
        using var disabled = Run(model, WithSelected);
        Assert.True(Same(baseline.Logits, disabled.Logits));
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
