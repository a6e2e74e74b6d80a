using System;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tests.Models;
using TrainableTokens.Core.Tuners;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;
using static TrainableTokens.Core.Tests.Tuners.Lora.LoraTestModels;

namespace TrainableTokens.Core.Tests.Tuners.Lora;

/// <summary>modules_to_save: full trainable copies of the embedding, the LM head or a projection, as PEFT's ModulesToSaveWrapper.</summary>
public sealed class LoraSavedModuleTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "lora-saved-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static Tensor Ids() => TinyModels.Ids(new long[] { 3, 5, 9, 40, 7, 1 });

    private static LoraConfig Saving(params string[] modules) => Config("q_proj", "down_proj") with { ModulesToSave = modules };

    [Fact]
    public void The_head_copy_replaces_the_head_and_is_saved_under_the_heads_own_key()
    {
        using var scope = NewDisposeScope();
        using var model = Llama(tied: false);
        using var reference = Llama(tied: false);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Saving("lm_head"));
        Randomize(tuner);
        var copy = tuner.SavedModules["lm_head"].Copies["default"].Weight;
        Assert.Contains(copy, tuner.TrainableParameters("default"));
        Assert.Equal(model.Head.Weight.dtype, copy.dtype);
        ApplyByHand(tuner, reference);
        using (no_grad()) reference.Head.Weight.copy_(copy);
        Assert.True(model.Forward(Ids()).Logits.allclose(reference.Forward(Ids()).Logits, rtol: 1e-4, atol: 1e-4));

        var folder = Path.Combine(_root, "a");
        LoraAdapterFolder.Save(tuner, "default", folder, overwrite: false);
        using (var file = SafetensorsFile.Open(Path.Combine(folder, AdapterFolder.WeightsFileName)))
        {
            Assert.Equal(new long[] { 128, 64 }, file.Info("base_model.model.lm_head.weight").Shape);
            Assert.Equal(9, file.Tensors.Count);
        }
        using var model2 = Llama(tied: false);
        using var tuner2 = new LoraModel(model2);
        LoraAdapterFolder.Load(tuner2, folder, "x");
        Assert.True(Same(model.Forward(Ids()).Logits, model2.Forward(Ids()).Logits));
    }

    [Fact]
    public void A_saved_projection_gets_no_LoRA_layer_and_keeps_its_bias_key()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "qwen2", Seed = 1 });
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Config("q_proj", "k_proj") with { ModulesToSave = new[] { "k_proj" } });
        // PEFT never targets a module that modules_to_save copies whole.
        Assert.All(tuner.Layers.Keys, p => Assert.EndsWith("q_proj", p));
        Assert.Equal(new[] { "model.layers.0.self_attn.k_proj", "model.layers.1.self_attn.k_proj" }, tuner.SavedModules.Keys.Order());
        Assert.IsType<SavedLinear>(model.LinearLayers["model.layers.0.self_attn.k_proj"]);
        Randomize(tuner);
        var folder = Path.Combine(_root, "b");
        LoraAdapterFolder.Save(tuner, "default", folder, overwrite: false);
        using (var file = SafetensorsFile.Open(Path.Combine(folder, AdapterFolder.WeightsFileName)))
        {
            Assert.True(file.Contains("base_model.model.model.layers.1.self_attn.k_proj.weight"));
            Assert.True(file.Contains("base_model.model.model.layers.1.self_attn.k_proj.bias"));
        }
        using var model2 = TinyModels.Build(new TinyModelSpec { ModelType = "qwen2", Seed = 1 });
        using var tuner2 = new LoraModel(model2);
        LoraAdapterFolder.Load(tuner2, folder, "x");
        Assert.True(Same(model.Forward(Ids()).Logits, model2.Forward(Ids()).Logits));
    }

    [Fact]
    public void Only_saved_targets_left_is_the_all_excluded_error()
    {
        using var model = Llama(tied: false);
        using var tuner = new LoraModel(model);
        var e = Assert.Throws<InvalidAdapterException>(() => tuner.AddAdapter("default", Config("q_proj") with { ModulesToSave = new[] { "q_proj" } }));
        Assert.Contains("excluded", e.Message);
        Assert.Empty(tuner.SavedModules);
    }

    [Fact]
    public void On_a_tied_model_with_ensure_weight_tying_the_head_follows_one_embedding_copy()
    {
        using var scope = NewDisposeScope();
        using var model = Llama(tied: true);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Saving("lm_head") with { EnsureWeightTying = true });
        Assert.Empty(tuner.Warnings["default"]);
        var embedding = tuner.SavedModules["model.embed_tokens"].Copies["default"];
        var head = tuner.SavedModules["lm_head"].Copies["default"];
        Assert.Same(embedding, head.TiedTo);
        Assert.Same(embedding.Weight, head.Weight);
        Assert.Single(tuner.TrainableParameters("default"), p => p.shape[0] == 128);
        Randomize(tuner);
        using var reference = Llama(tied: true);
        ApplyByHand(tuner, reference);
        using (no_grad()) reference.InputEmbedding.Weight.copy_(embedding.Weight);
        Assert.True(model.Forward(Ids()).Logits.allclose(reference.Forward(Ids()).Logits, rtol: 1e-4, atol: 1e-4));

        // PEFT saves both (the head's as a clone: safetensors has no aliases); the head's may be left out.
        var folder = Path.Combine(_root, "c");
        LoraAdapterFolder.Save(tuner, "default", folder, overwrite: false);
        using (var file = SafetensorsFile.Open(Path.Combine(folder, AdapterFolder.WeightsFileName)))
        {
            Assert.True(file.Contains("base_model.model.model.embed_tokens.weight"));
            Assert.True(file.Contains("base_model.model.lm_head.weight"));
        }
        using var model2 = Llama(tied: true);
        using var tuner2 = new LoraModel(model2);
        LoraAdapterFolder.Load(tuner2, folder, "x");
        Assert.True(Same(model.Forward(Ids()).Logits, model2.Forward(Ids()).Logits));
    }

    [Fact]
    public void On_a_tied_model_without_ensure_weight_tying_the_copy_is_apart_and_PEFT_warns()
    {
        using var scope = NewDisposeScope();
        using var model = Llama(tied: true);
        var ids = Ids();
        var baseLogits = model.Forward(ids).Logits;
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Saving("lm_head"));
        Assert.Contains("ensure_weight_tying", Assert.Single(tuner.Warnings["default"]));
        Assert.False(tuner.SavedModules.ContainsKey("model.embed_tokens"));
        Randomize(tuner);
        var adapted = model.Forward(ids).Logits;
        // Merging cannot write the head's copy into the weight the embedding shares: forward keeps reading the copy.
        var weight = model.InputEmbedding.Weight.clone();
        tuner.Merge();
        Assert.True(Same(weight, model.InputEmbedding.Weight));
        Assert.True(adapted.allclose(model.Forward(ids).Logits, rtol: 1e-5, atol: 1e-5));
        tuner.DisableAdapters();
        Assert.True(baseLogits.allclose(model.Forward(ids).Logits, rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Merging_an_embedding_copy_writes_it_and_unmerging_restores_the_weight_exactly()
    {
        using var scope = NewDisposeScope();
        using var model = Llama(tied: false);
        var weight = model.InputEmbedding.Weight.clone();
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Saving("embed_tokens"));
        Randomize(tuner);
        var before = model.Forward(Ids()).Logits;
        tuner.Merge(safe: true);
        Assert.True(Same(tuner.SavedModules["model.embed_tokens"].Copies["default"].Weight, model.InputEmbedding.Weight));
        Assert.True(before.allclose(model.Forward(Ids()).Logits, rtol: 1e-4, atol: 1e-4));
        tuner.Unmerge();
        Assert.True(Same(weight, model.InputEmbedding.Weight));
        tuner.DeleteAdapter("default");
        Assert.IsType<EmbeddingTable>(model.InputEmbedding);
        Assert.Empty(tuner.SavedModules);
    }

    [Fact]
    public void Disabling_gives_the_base_output_exactly()
    {
        using var scope = NewDisposeScope();
        using var model = Llama(tied: false);
        var baseLogits = model.Forward(Ids()).Logits;
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Saving("embed_tokens", "lm_head"));
        Randomize(tuner);
        Assert.False(Same(baseLogits, model.Forward(Ids()).Logits));
        tuner.DisableAdapters();
        Assert.True(Same(baseLogits, model.Forward(Ids()).Logits));
    }

    [Theory]
    [InlineData("input_layernorm", "only the input embedding")]
    [InlineData("mlp", "only the input embedding")]
    [InlineData("classifier", "matches no module")]
    public void Modules_that_cannot_be_copied_are_refused(string module, string expected)
    {
        using var model = Llama(tied: false);
        using var tuner = new LoraModel(model);
        var e = Assert.Throws<InvalidAdapterException>(() => tuner.AddAdapter("default", Saving(module), source: "m/adapter_config.json"));
        Assert.Contains(expected, e.Message);
        Assert.Contains($"modules_to_save '{module}'", e.Message);
        Assert.Empty(tuner.Layers);
    }

    [Fact]
    public void Two_active_adapters_cannot_both_copy_one_module_and_one_module_takes_one_kind_of_part()
    {
        using var model = Llama(tied: false);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("a", Saving("lm_head"));
        tuner.AddAdapter("b", Saving("lm_head"));
        var e = Assert.Throws<InvalidAdapterException>(() => tuner.SetActiveAdapters("a", "b"));
        Assert.Contains("only one of them can be active", e.Message);
        // Rows of a module another adapter copies whole, or a copy of a module another adapter gives LoRA, are refused.
        Assert.Throws<InvalidAdapterException>(() => tuner.AddAdapter("c", WithTokenMap(("lm_head", new long[] { 1 }))));
        var lora = Assert.Throws<InvalidAdapterException>(() => tuner.AddAdapter("d", Config("k_proj") with { ModulesToSave = new[] { "q_proj" } }));
        Assert.Contains("one module takes one kind of adapter part", lora.Message);
        Assert.Equal(new[] { "a", "b" }, tuner.Configs.Keys);
    }

    [Fact]
    public void A_missing_or_misshaped_copy_in_the_file_is_refused()
    {
        using var scope = NewDisposeScope();
        using var model = Llama(tied: false);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Saving("lm_head"));
        var folder = Path.Combine(_root, "d");
        LoraAdapterFolder.Save(tuner, "default", folder, overwrite: false);
        var weights = Path.Combine(folder, AdapterFolder.WeightsFileName);
        System.Collections.Generic.Dictionary<string, Tensor> tensors;
        using (var file = SafetensorsFile.Open(weights))
            tensors = file.Tensors.ToDictionary(t => t.Name, t => file.Load(t.Name));
        tensors["base_model.model.lm_head.weight"] = zeros(127, 64);
        SafetensorsWriter.Write(weights, tensors);
        using var model2 = Llama(tied: false);
        using var tuner2 = new LoraModel(model2);
        var e = Assert.Throws<InvalidAdapterException>(() => LoraAdapterFolder.Load(tuner2, folder, "x"));
        Assert.Contains("base_model.model.lm_head.weight", e.Message);
        Assert.Contains("[127, 64]", e.Message);
        tensors.Remove("base_model.model.lm_head.weight");
        SafetensorsWriter.Write(weights, tensors);
        e = Assert.Throws<InvalidAdapterException>(() => LoraAdapterFolder.Load(tuner2, folder, "x"));
        Assert.Contains("modules_to_save", e.Message);
        Assert.IsType<LinearHead>(model2.Head);
    }
}
