using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Tests.Models;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;
using static TrainableTokens.Core.Tests.Tuners.Lora.LoraTestModels;

namespace TrainableTokens.Core.Tests.Tuners.Lora;

/// <summary>LoRA + trainable tokens in PEFT's combined file format: keys, round trips, PEFT-shaped files made by hand, bad files.</summary>
public sealed class LoraTokenFolderTests : IDisposable
{
    private const string EmbeddingKey = "base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta";
    private const string HeadKey = "base_model.model.lm_head.token_adapter.trainable_tokens_delta";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "lora-tokens-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static Tensor Ids() => TinyModels.Ids(new long[] { 3, 5, 9, 40, 7, 1 }, new long[] { 2, 40, 3, 4, 7, 9 });

    public static TheoryData<bool, LoraConfig, string[]> Forms => new()
    {
        { true, WithTokens(3, 9, 40), new[] { EmbeddingKey } },
        { false, WithTokens(3, 9, 40), new[] { EmbeddingKey } },
        { true, WithTokenMap(("embed_tokens", new long[] { 3, 9 }), ("lm_head", new long[] { 3, 9 })), new[] { EmbeddingKey } },
        { true, WithTokenMap(("embed_tokens", new long[] { 3, 4 }), ("lm_head", new long[] { 1, 2, 7 })), new[] { EmbeddingKey, HeadKey } },
        { false, WithTokenMap(("embed_tokens", new long[] { 3, 4 }), ("lm_head", new long[] { 1, 2, 7 })), new[] { EmbeddingKey, HeadKey } },
    };

    [Theory]
    [MemberData(nameof(Forms))]
    public void Save_writes_PEFTs_combined_keys_and_load_gives_the_same_logits(bool tied, LoraConfig config, string[] tokenKeys)
    {
        using var scope = NewDisposeScope();
        var folder = Path.Combine(_root, "adapter");
        using var model = Llama(tied);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", config);
        Randomize(tuner);
        var logits = model.Forward(Ids()).Logits;
        LoraAdapterFolder.Save(tuner, "default", folder, overwrite: false);

        using (var file = SafetensorsFile.Open(Path.Combine(folder, AdapterFolder.WeightsFileName)))
        {
            var names = file.Tensors.Select(t => t.Name).ToList();
            Assert.Equal(tokenKeys.OrderBy(k => k, StringComparer.Ordinal), names.Where(n => n.Contains("token_adapter")).OrderBy(k => k, StringComparer.Ordinal));
            // LoRA's pairs beside them, nothing else: in particular no head key for a tied head that follows the rows.
            Assert.Equal(8 + tokenKeys.Length, names.Count);
            Assert.Contains("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight", names);
            Assert.All(file.Tensors, t => Assert.Equal(SafetensorsDType.F32, t.DType));
            Assert.Equal(new long[] { config.TrainableTokenIndices?.Count ?? config.TrainableTokenIndicesByModule![0].Value.Count, 64 }, file.Info(EmbeddingKey).Shape);
        }
        var json = File.ReadAllText(Path.Combine(folder, "adapter_config.json"));
        Assert.Contains("\"trainable_token_indices\"", json);

        using var model2 = Llama(tied);
        using var tuner2 = new LoraModel(model2);
        var loaded = LoraAdapterFolder.Load(tuner2, folder, "loaded");
        Assert.Equal(config.ToJson(), loaded.ToJson());
        Assert.Equal(tuner.Tokens.Layers.Keys, tuner2.Tokens.Layers.Keys);
        foreach (var (a, b) in tuner.TrainableParameters("default").Zip(tuner2.TrainableParameters("loaded")))
            Assert.True(Same(a, b));
        Assert.True(Same(logits, model2.Forward(Ids()).Logits));
    }

    /// <summary>An adapter shaped as PEFT's save_pretrained writes one, with values chosen here.</summary>
    private string PeftAdapter(string tokenJson, IDictionary<string, Tensor> tensors, bool adapterNameInKeys = false)
    {
        var folder = Path.Combine(_root, "peft");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), $$"""
        {
          "alpha_pattern": {},
          "auto_mapping": null,
          "base_model_name_or_path": "tiny-llama",
          "bias": "none",
          "corda_config": null,
          "ensure_weight_tying": false,
          "eva_config": null,
          "exclude_modules": null,
          "fan_in_fan_out": false,
          "inference_mode": true,
          "init_lora_weights": true,
          "layer_replication": null,
          "layers_pattern": null,
          "layers_to_transform": null,
          "loftq_config": {},
          "lora_alpha": 16,
          "lora_bias": false,
          "lora_dropout": 0.05,
          "megatron_config": null,
          "megatron_core": "megatron.core",
          "modules_to_save": null,
          "peft_type": "LORA",
          "peft_version": "0.21.0",
          "qalora_group_size": 16,
          "r": 2,
          "rank_pattern": {},
          "revision": null,
          "target_modules": ["q_proj"],
          "target_parameters": null,
          "task_type": "CAUSAL_LM",
          "trainable_token_indices": {{tokenJson}},
          "use_dora": false,
          "use_qalora": false,
          "use_rslora": false
        }
        """);
        var named = adapterNameInKeys
            ? tensors.ToDictionary(kv => kv.Key.EndsWith("trainable_tokens_delta") ? kv.Key + ".default" : kv.Key.Replace(".weight", ".default.weight"), kv => kv.Value)
            : tensors;
        SafetensorsWriter.Write(Path.Combine(folder, AdapterFolder.WeightsFileName), named, new Dictionary<string, string> { ["format"] = "pt" });
        return folder;
    }

    private static Dictionary<string, Tensor> PeftTensors(params (string Key, long Rows)[] tokens)
    {
        var g = new Generator(21);
        var t = new Dictionary<string, Tensor>();
        for (int l = 0; l < 2; l++)
        {
            t[$"base_model.model.model.layers.{l}.self_attn.q_proj.lora_A.weight"] = randn(new long[] { 2, 64 }, generator: g);
            t[$"base_model.model.model.layers.{l}.self_attn.q_proj.lora_B.weight"] = randn(new long[] { 64, 2 }, generator: g).mul_(0.1);
        }
        foreach (var (key, rows) in tokens) t[key] = randn(new long[] { rows, 64 }, generator: g);
        return t;
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void A_PEFT_shaped_list_adapter_loads_and_gives_W_plus_scaled_B_A_and_the_rows(bool tied, bool adapterNameInKeys)
    {
        using var scope = NewDisposeScope();
        var tensors = PeftTensors((EmbeddingKey, 3));
        var folder = PeftAdapter("[5, 17, 40]", tensors, adapterNameInKeys);
        using var model = Llama(tied);
        using var tuner = new LoraModel(model);
        LoraAdapterFolder.Load(tuner, folder, "default");

        // By hand, from the file's tensors: W += lora_alpha / r * B @ A; rows 5, 17, 40 of the embedding (and of a tied head) replaced.
        using var reference = Llama(tied);
        using (no_grad())
        {
            for (int l = 0; l < 2; l++)
            {
                var a = tensors[$"base_model.model.model.layers.{l}.self_attn.q_proj.lora_A.weight"];
                var b = tensors[$"base_model.model.model.layers.{l}.self_attn.q_proj.lora_B.weight"];
                reference.Weights[$"model.layers.{l}.self_attn.q_proj.weight"].add_(b.matmul(a).mul(16.0 / 2));
            }
            reference.InputEmbedding.Weight.index_copy_(0, tensor(new long[] { 5, 17, 40 }), tensors[EmbeddingKey]);
        }
        var ids = TinyModels.Ids(new long[] { 5, 3, 17, 40, 6, 5 });
        var expected = reference.Forward(ids).Logits;
        var actual = model.Forward(ids).Logits;
        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-4), $"max error {(actual - expected).abs().max().item<float>()}");
        if (tied)
            Assert.True(actual.index_select(-1, tensor(new long[] { 5, 17, 40 })).allclose(expected.index_select(-1, tensor(new long[] { 5, 17, 40 })), rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void A_PEFT_shaped_map_adapter_on_an_untied_model_substitutes_embedding_and_head_rows()
    {
        using var scope = NewDisposeScope();
        var tensors = PeftTensors((EmbeddingKey, 2), (HeadKey, 1));
        var folder = PeftAdapter("""{"embed_tokens": [5, 17], "lm_head": [40]}""", tensors);
        using var model = Llama(tied: false);
        using var tuner = new LoraModel(model);
        LoraAdapterFolder.Load(tuner, folder, "default");
        using var reference = Llama(tied: false);
        using (no_grad())
        {
            for (int l = 0; l < 2; l++)
                reference.Weights[$"model.layers.{l}.self_attn.q_proj.weight"].add_(
                    tensors[$"base_model.model.model.layers.{l}.self_attn.q_proj.lora_B.weight"].matmul(tensors[$"base_model.model.model.layers.{l}.self_attn.q_proj.lora_A.weight"]).mul(8.0));
            reference.InputEmbedding.Weight.index_copy_(0, tensor(new long[] { 5, 17 }), tensors[EmbeddingKey]);
            reference.Head.Weight.index_copy_(0, tensor(new long[] { 40 }), tensors[HeadKey]);
        }
        var ids = TinyModels.Ids(new long[] { 5, 3, 17, 40, 6, 5 });
        Assert.True(model.Forward(ids).Logits.allclose(reference.Forward(ids).Logits, rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void A_tied_heads_row_copy_is_accepted_when_equal_and_refused_when_different()
    {
        using var scope = NewDisposeScope();
        var tensors = PeftTensors((EmbeddingKey, 3));
        tensors[HeadKey] = tensors[EmbeddingKey].clone();
        var folder = PeftAdapter("[5, 17, 40]", tensors);
        using var model = Llama(tied: true);
        using var tuner = new LoraModel(model);
        LoraAdapterFolder.Load(tuner, folder, "default");
        tuner.DeleteAdapter("default");
        tensors[HeadKey] = tensors[EmbeddingKey].add(1);
        PeftAdapter("[5, 17, 40]", tensors);
        var e = Assert.Throws<InvalidAdapterException>(() => LoraAdapterFolder.Load(tuner, folder, "default"));
        Assert.Contains(HeadKey, e.Message);
        Assert.Empty(tuner.Configs);
    }

    [Theory]
    [InlineData("[5, 17, 128]", 3, "outside the model's vocabulary")]
    [InlineData("[5, 17]", 3, "has shape [3, 64]")]
    [InlineData("{\"embed_tokens\": [5, 17, 40], \"lm_head\": [1]}", 3, HeadKey)]
    public void Bad_token_entries_are_refused_naming_file_and_key_and_leave_no_adapter(string tokenJson, long rows, string expected)
    {
        using var scope = NewDisposeScope();
        var folder = PeftAdapter(tokenJson, PeftTensors((EmbeddingKey, rows)));
        using var model = Llama(tied: false);
        using var tuner = new LoraModel(model);
        var e = Assert.Throws<InvalidAdapterException>(() => LoraAdapterFolder.Load(tuner, folder, "default"));
        Assert.Contains(expected, e.Message);
        Assert.Contains(folder, e.Message);
        Assert.Empty(tuner.Configs);
        Assert.Empty(tuner.Layers);
        Assert.Empty(tuner.Tokens.Layouts);
        Assert.IsType<TrainableTokens.Core.Models.EmbeddingTable>(model.InputEmbedding);
    }

    [Fact]
    public void Non_finite_rows_and_integer_rows_are_refused()
    {
        using var scope = NewDisposeScope();
        var tensors = PeftTensors((EmbeddingKey, 3));
        tensors[EmbeddingKey][1, 5] = tensor(float.PositiveInfinity);
        var folder = PeftAdapter("[5, 17, 40]", tensors);
        using var model = Llama(tied: true);
        using var tuner = new LoraModel(model);
        var e = Assert.Throws<InvalidAdapterException>(() => LoraAdapterFolder.Load(tuner, folder, "default"));
        Assert.Contains("NaN or infinite", e.Message);
        Assert.Contains(EmbeddingKey, e.Message);
        tensors[EmbeddingKey] = ones(new long[] { 3, 64 }, ScalarType.Int32);
        PeftAdapter("[5, 17, 40]", tensors);
        e = Assert.Throws<InvalidAdapterException>(() => LoraAdapterFolder.Load(tuner, folder, "default"));
        Assert.Contains("I32", e.Message);
        Assert.Empty(tuner.Configs);
    }

    [Fact]
    public void Token_rows_for_a_config_without_trainable_tokens_are_strays()
    {
        using var scope = NewDisposeScope();
        var folder = PeftAdapter("null", PeftTensors((EmbeddingKey, 3)));
        using var model = Llama(tied: false);
        using var tuner = new LoraModel(model);
        var e = Assert.Throws<InvalidAdapterException>(() => LoraAdapterFolder.Load(tuner, folder, "default"));
        Assert.Contains("does not account for", e.Message);
        Assert.Contains(EmbeddingKey, e.Message);
    }

    [Fact]
    public void Key_helpers_name_PEFTs_keys()
    {
        Assert.Equal(EmbeddingKey, LoraAdapterFolder.KeyTokens("model.embed_tokens"));
        Assert.Equal("base_model.model.lm_head.weight", LoraAdapterFolder.KeySaved("lm_head"));
        Assert.Equal("base_model.model.model.layers.0.mlp.up_proj.bias", LoraAdapterFolder.KeySaved("model.layers.0.mlp.up_proj", "bias"));
        Assert.Equal("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", LoraAdapterFolder.KeyA("model.layers.0.self_attn.q_proj"));
        Assert.Equal("model.embed_tokens", LoraAdapterFolder.TokensModulePath(EmbeddingKey));
        Assert.Equal("lm_head", LoraAdapterFolder.TokensModulePath(HeadKey + ".default"));
        Assert.Null(LoraAdapterFolder.TokensModulePath(HeadKey + ".default.x"));
        Assert.Null(LoraAdapterFolder.TokensModulePath("base_model.model.lm_head.weight"));
    }
}
