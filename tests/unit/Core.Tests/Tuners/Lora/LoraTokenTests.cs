using System;
using System.Linq;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tests.Models;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;
using static TrainableTokens.Core.Tests.Tuners.Lora.LoraTestModels;

namespace TrainableTokens.Core.Tests.Tuners.Lora;

/// <summary>
/// LoRA with trainable_token_indices: PEFT's tied-weights table (tests/test_trainable_tokens.py, utils/other.py
/// set_additional_trainable_modules), the forward against values computed by hand, and the adapter's lifecycle.
/// </summary>
public sealed class LoraTokenTests
{
    private static readonly long[] Rows = { 3, 9, 40 };

    private static Tensor Hidden() => randn(new long[] { 2, 3, 64 }, generator: new Generator(11));

    [Fact]
    public void A_list_on_a_tied_model_ties_the_head_to_the_same_rows()
    {
        using var scope = NewDisposeScope();
        using var model = Llama(tied: true);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", WithTokens(Rows));
        Randomize(tuner);
        var layout = tuner.Tokens.Layouts["default"];
        Assert.True(layout.HeadFollowsEmbedding);
        Assert.Equal(new[] { "model.embed_tokens" }, tuner.Tokens.Layers.Keys);
        // The head's columns for the rows are h . row, the same trained tensor the embedding returns.
        var rows = tuner.Tokens.Layers["model.embed_tokens"].Adapters["default"].Values.detach();
        var h = Hidden();
        var logits = model.Head.Project(h);
        Assert.True(logits.index_select(-1, tensor(Rows)).allclose(h.matmul(rows.t()), rtol: 1e-5, atol: 1e-5));
        Assert.True(model.InputEmbedding.Embed(tensor(Rows).view(1, 3))[0].allclose(rows));
        Assert.Empty(tuner.Warnings["default"]);
    }

    [Fact]
    public void A_list_on_an_untied_model_trains_only_the_embedding_rows()
    {
        using var scope = NewDisposeScope();
        using var model = Llama(tied: false);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", WithTokens(Rows));
        Assert.False(tuner.Tokens.Layouts["default"].HeadFollowsEmbedding);
        Assert.Equal(new[] { "model.embed_tokens" }, tuner.Tokens.Layers.Keys);
        Assert.IsType<LinearHead>(model.Head);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_map_with_the_same_ids_for_embedding_and_head_on_a_tied_model_ties_them(bool ensure)
    {
        using var scope = NewDisposeScope();
        using var model = Llama(tied: true);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", WithTokenMap(("lm_head", new long[] { 1, 2 }), ("embed_tokens", new long[] { 1, 2 })) with { EnsureWeightTying = ensure });
        Assert.True(tuner.Tokens.Layouts["default"].HeadFollowsEmbedding);
        // One set of rows: the head has no layer of its own, so the adapter file has no head key.
        Assert.Equal(new[] { "model.embed_tokens" }, tuner.Tokens.Layers.Keys);
    }

    [Fact]
    public void A_map_with_different_ids_on_a_tied_model_keeps_embedding_and_head_separate()
    {
        using var scope = NewDisposeScope();
        using var model = Llama(tied: true);
        var baseWeight = model.InputEmbedding.Weight.clone();
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", WithTokenMap(("lm_head", new long[] { 1, 2 }), ("embed_tokens", new long[] { 3, 4 })));
        Randomize(tuner);
        Assert.False(tuner.Tokens.Layouts["default"].HeadFollowsEmbedding);
        var embeddingRows = tuner.Tokens.Layers["model.embed_tokens"].Adapters["default"].Values.detach();
        var headRows = tuner.Tokens.Layers["lm_head"].Adapters["default"].Values.detach();
        Assert.False(Same(embeddingRows, headRows));

        // The embedding substitutes its rows 3 and 4 only; the head its columns 1 and 2 only (3 and 4 stay the base's).
        var embeddingWeight = baseWeight.clone().index_copy_(0, tensor(new long[] { 3, 4 }), embeddingRows);
        var ids = tensor(new long[] { 1, 2, 3, 4, 5, 6 }).view(1, 6);
        Assert.True(Same(embeddingWeight.index_select(0, ids.flatten()).unsqueeze(0), model.InputEmbedding.Embed(ids)));
        var headWeight = baseWeight.clone().index_copy_(0, tensor(new long[] { 1, 2 }), headRows);
        var h = Hidden();
        Assert.True(model.Head.Project(h).allclose(h.matmul(headWeight.t()), rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void A_map_with_different_ids_on_a_tied_model_is_an_error_with_ensure_weight_tying()
    {
        using var model = Llama(tied: true);
        using var tuner = new LoraModel(model);
        var e = Assert.Throws<InvalidAdapterException>(() => tuner.AddAdapter("default",
            WithTokenMap(("lm_head", new long[] { 1, 2 }), ("embed_tokens", new long[] { 3, 4 })) with { EnsureWeightTying = true }));
        Assert.Contains("cannot ensure weight tying", e.Message);
        Assert.Contains("lm_head: [1, 2]", e.Message);
        Assert.Contains("embed_tokens: [3, 4]", e.Message);
        Assert.Contains("ensure_weight_tying to false", e.Message);
        Assert.Empty(tuner.Configs);
        Assert.Empty(tuner.Layers);
        Assert.IsType<EmbeddingTable>(model.InputEmbedding);
    }

    public static TheoryData<LoraConfig> UntiedForms => new()
    {
        WithTokens(1, 2, 3),
        WithTokenMap(("embed_tokens", new long[] { 1, 2, 3 })),
        WithTokenMap(("lm_head", new long[] { 1, 2 }), ("embed_tokens", new long[] { 1, 2 })),
        WithTokenMap(("lm_head", new long[] { 1, 2 }), ("embed_tokens", new long[] { 3, 4 })),
    };

    [Theory]
    [MemberData(nameof(UntiedForms))]
    public void An_untied_model_with_ensure_weight_tying_gets_a_warning_and_no_tying(LoraConfig config)
    {
        using var scope = NewDisposeScope();
        using var model = Llama(tied: false);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", config with { EnsureWeightTying = true });
        var warning = Assert.Single(tuner.Warnings["default"]);
        Assert.Contains("does not tie its weights", warning);
        Assert.False(tuner.Tokens.Layouts["default"].HeadFollowsEmbedding);
        var expectedLayers = config.TrainableTokenIndicesByModule?.Count ?? 1;
        Assert.Equal(expectedLayers, tuner.Tokens.Layers.Count);
        if (expectedLayers == 2)
            Assert.NotSame(tuner.Tokens.Layers["lm_head"].Adapters["default"].Values, tuner.Tokens.Layers["model.embed_tokens"].Adapters["default"].Values);
    }

    [Fact]
    public void The_embedding_in_both_modules_to_save_and_trainable_token_indices_is_PEFTs_error()
    {
        using var model = Llama(tied: false);
        using var tuner = new LoraModel(model);
        var e = Assert.Throws<InvalidAdapterException>(() => tuner.AddAdapter("default",
            WithTokenMap(("embed_tokens", new long[] { 1 })) with { ModulesToSave = new[] { "embed_tokens" } }, source: "a/adapter_config.json"));
        Assert.Contains("already marked to be trained fully", e.Message);
        Assert.Contains("a/adapter_config.json", e.Message);
        // The list form names the same module.
        Assert.Throws<InvalidAdapterException>(() => tuner.AddAdapter("default", WithTokens(1) with { ModulesToSave = new[] { "embed_tokens" } }));
        Assert.Empty(tuner.Configs);
        Assert.IsType<EmbeddingTable>(model.InputEmbedding);
    }

    [Theory]
    [InlineData("embed_tokens")]
    [InlineData("model.embed_tokens")]
    public void LoRA_on_the_embedding_together_with_trainable_tokens_is_PEFTs_error(string target)
    {
        using var model = Llama(tied: false);
        using var tuner = new LoraModel(model);
        var e = Assert.Throws<InvalidAdapterException>(() => tuner.AddAdapter("default", Config(target, "q_proj") with { TrainableTokenIndices = new long[] { 1 } }));
        Assert.Contains("PEFT refuses both on one module", e.Message);
        Assert.Contains("Remove model.embed_tokens from target_modules", e.Message);
        Assert.Empty(tuner.Layers);
    }

    [Theory]
    [InlineData("does-not-exist", "was not found in the base model")]
    [InlineData("input_layernorm", "not an embedding module")]
    public void A_map_naming_no_embedding_module_is_an_error(string module, string expected)
    {
        using var model = Llama(tied: false);
        using var tuner = new LoraModel(model);
        var e = Assert.Throws<InvalidAdapterException>(() => tuner.AddAdapter("default", WithTokenMap((module, new long[] { 1 }))));
        Assert.Contains(expected, e.Message);
        Assert.Contains($"trainable_token_indices.{module}", e.Message);
    }

    [Theory]
    [InlineData(128L, "outside the model's vocabulary (0 to 127)")]
    [InlineData(5L, "more than once")]
    public void Token_ids_outside_the_vocabulary_or_repeated_are_refused(long bad, string expected)
    {
        using var model = Llama(tied: false);
        using var tuner = new LoraModel(model);
        var e = Assert.Throws<InvalidAdapterException>(() => tuner.AddAdapter("default", WithTokens(5, bad), source: "x/adapter_config.json"));
        Assert.Contains(expected, e.Message);
        Assert.Contains("x/adapter_config.json", e.Message);
        Assert.Empty(tuner.Layers);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Logits_equal_a_copy_with_W_plus_scaled_B_A_and_the_rows_written_in(bool tied)
    {
        using var scope = NewDisposeScope();
        using var model = Llama(tied);
        using var reference = Llama(tied);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", WithTokens(Rows));
        Randomize(tuner);
        ApplyByHand(tuner, reference);
        var ids = TinyModels.Ids(new long[] { 3, 5, 9, 6, 40, 5 }, new long[] { 1, 2, 40, 7, 3, 9 });
        var expected = reference.Forward(ids).Logits;
        var actual = model.Forward(ids).Logits;
        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-4), $"max error {(actual - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void Trainable_parameters_are_the_pairs_then_the_token_rows_and_all_get_gradients()
    {
        using var scope = NewDisposeScope();
        using var model = Llama(tied: true);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", WithTokens(Rows));
        var parameters = tuner.TrainableParameters("default");
        Assert.Equal(2 * 4 + 1, parameters.Count);
        Assert.Equal(new long[] { 3, 64 }, parameters[^1].shape);
        // Two layers of q_proj (A [4, 64], B [64, 4]) and v_proj (A [4, 64], B [32, 4]), and 3 rows of 64.
        Assert.Equal(2 * (4 * 64 + 64 * 4 + 4 * 64 + 32 * 4) + 3 * 64, tuner.TrainableParameterCount("default"));
        Randomize(tuner);
        var ids = TinyModels.Ids(new long[] { 3, 5, 9, 40 });
        model.Forward(ids).Logits.sum().backward();
        Assert.All(parameters, p => Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Merge_then_unmerge_restores_the_rows_exactly_and_the_logits(bool tied)
    {
        using var scope = NewDisposeScope();
        using var model = Llama(tied);
        var embedding = model.InputEmbedding.Weight.clone();
        using var tuner = new LoraModel(model);
        // Tied: the list (the head follows the rows). Untied: the map, embedding and head rows apart.
        tuner.AddAdapter("default", tied ? WithTokens(Rows) : WithTokenMap(("embed_tokens", Rows), ("lm_head", new long[] { 7 })));
        Randomize(tuner);
        var ids = TinyModels.Ids(new long[] { 3, 5, 9, 40, 7 });
        var before = model.Forward(ids).Logits;
        tuner.Merge(safe: true);
        Assert.True(model.Forward(ids).Logits.allclose(before, rtol: 1e-4, atol: 1e-4));
        Assert.False(Same(embedding.index_select(0, tensor(Rows)), model.InputEmbedding.Weight.index_select(0, tensor(Rows))));
        tuner.Unmerge();
        Assert.True(Same(embedding, model.InputEmbedding.Weight));
        Assert.True(model.Forward(ids).Logits.allclose(before, rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void Safe_merge_refuses_non_finite_rows_and_writes_nothing()
    {
        using var scope = NewDisposeScope();
        using var model = Llama(tied: true);
        var embedding = model.InputEmbedding.Weight.clone();
        var q = model.LinearLayers["model.layers.0.self_attn.q_proj"].Weight.clone();
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", WithTokens(Rows));
        Randomize(tuner);
        using (no_grad()) tuner.Tokens.Layers["model.embed_tokens"].Adapters["default"].Values[1, 2] = tensor(float.NaN);
        var e = Assert.Throws<InvalidAdapterException>(() => tuner.Merge(safe: true));
        Assert.Contains("NaN", e.Message);
        Assert.True(Same(embedding, model.InputEmbedding.Weight));
        Assert.True(Same(q, model.LinearLayers["model.layers.0.self_attn.q_proj"].Weight));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Disabling_gives_the_base_output_exactly(bool tied)
    {
        using var scope = NewDisposeScope();
        using var model = Llama(tied);
        var ids = TinyModels.Ids(new long[] { 3, 5, 9, 40, 7 });
        var baseLogits = model.Forward(ids).Logits;
        var embedding = model.InputEmbedding.Weight.clone();
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", WithTokens(Rows));
        Randomize(tuner);
        var adapted = model.Forward(ids).Logits;
        Assert.False(Same(baseLogits, adapted));
        tuner.DisableAdapters();
        Assert.True(Same(baseLogits, model.Forward(ids).Logits));
        tuner.EnableAdapters();
        Assert.True(Same(adapted, model.Forward(ids).Logits));
        // After a merge, disabling unmerges first: the rows come back bit for bit, LoRA's weights to float rounding (as in PEFT).
        tuner.Merge();
        tuner.DisableAdapters();
        Assert.True(Same(embedding, model.InputEmbedding.Weight));
        Assert.True(baseLogits.allclose(model.Forward(ids).Logits, rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Deleting_the_adapter_removes_its_rows_and_wrappers()
    {
        using var scope = NewDisposeScope();
        using var model = Llama(tied: true);
        var ids = TinyModels.Ids(new long[] { 3, 5, 9, 40, 7 });
        var baseLogits = model.Forward(ids).Logits;
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", WithTokens(Rows));
        tuner.AddAdapter("other", Config("k_proj") with { TrainableTokenIndices = new long[] { 50 } });
        Randomize(tuner);
        Randomize(tuner, "other");
        tuner.DeleteAdapter("other");
        tuner.DeleteAdapter("default");
        Assert.Empty(tuner.Tokens.Layouts);
        Assert.IsType<EmbeddingTable>(model.InputEmbedding);
        Assert.True(Same(baseLogits, model.Forward(ids).Logits));
    }

    [Fact]
    public void Two_active_adapters_must_train_different_tokens()
    {
        using var model = Llama(tied: false);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("a", WithTokens(1, 2));
        tuner.AddAdapter("b", Config("k_proj") with { TrainableTokenIndices = new long[] { 2, 3 } });
        var e = Assert.Throws<AdapterConflictException>(() => tuner.SetActiveAdapters("a", "b"));
        Assert.Equal(new long[] { 2 }, e.Overlap);
        Assert.Equal(new[] { "b" }, tuner.ActiveAdapters);
        // Without overlap both apply at once.
        tuner.AddAdapter("c", Config("o_proj") with { TrainableTokenIndices = new long[] { 9 } });
        tuner.SetActiveAdapters("a", "c");
        Assert.Equal(new[] { "a", "c" }, tuner.Tokens.ActiveAdapters);
    }

    [Fact]
    public void An_adapter_without_tokens_leaves_the_embedding_alone()
    {
        using var model = Llama(tied: true);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Config("q_proj"));
        Assert.Empty(tuner.Tokens.Layouts);
        Assert.IsType<EmbeddingTable>(model.InputEmbedding);
        Assert.Equal(4, tuner.TrainableParameters("default").Count);
    }
}
