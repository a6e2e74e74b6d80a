using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tests.Models;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Tuners;

public sealed class AdapterFolderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-adapter-").FullName;
    private static readonly long[] Sequence = { 3, 5, 9, 6, 11, 5 };

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A hand-made adapter folder: <paramref name="configJson"/> and one tensor under <paramref name="key"/> (and <paramref name="second"/>).</summary>
    private string HandMade(string name, string configJson, string key, Tensor rows, (string Key, Tensor Rows)? second = null)
    {
        var folder = Path.Combine(_dir, name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), configJson);
        var tensors = new System.Collections.Generic.List<System.Collections.Generic.KeyValuePair<string, Tensor>> { new(key, rows) };
        if (second is { } s) tensors.Add(new(s.Key, s.Rows));
        SafetensorsWriter.Write(Path.Combine(folder, "adapter_model.safetensors"), tensors);
        return folder;
    }

    private const string EmbedKey = "base_model.model.model.embed_tokens.trainable_tokens_delta";
    private const string HeadKey = "base_model.model.lm_head.trainable_tokens_delta";

    private static TrainableTokensModel Trained(CausalLanguageModel model, TargetModules? targets = null)
    {
        var tuner = new TrainableTokensModel(model);
        tuner.AddAdapter("default", new TrainableTokensAdapterConfig { TokenIndices = new long[] { 6, 5 }, TargetModules = targets });
        using var noGrad = no_grad();
        foreach (var p in tuner.TrainableParameters("default")) p.copy_(randn(p.shape, generator: new Generator(3)));
        return tuner;
    }

    [Fact]
    public void Saved_adapters_have_PEFTs_layout()
    {
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true });
        using var tuner = Trained(model);
        var folder = Path.Combine(_dir, "a");
        AdapterFolder.Save(tuner, "default", folder, overwrite: false);

        Assert.Equal(new[] { "adapter_config.json", "adapter_model.safetensors" }, Directory.GetFiles(folder).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "adapter_config.json")))!.AsObject();
        Assert.Equal(new[] { "auto_mapping", "base_model_name_or_path", "inference_mode", "init_weights", "peft_type", "peft_version", "revision", "target_modules", "task_type", "token_indices" },
            config.Select(kv => kv.Key));
        Assert.Equal("TRAINABLE_TOKENS", (string?)config["peft_type"]);
        Assert.Equal("model.embed_tokens", (string?)config["target_modules"]);
        Assert.Equal(new long[] { 6, 5 }, config["token_indices"]!.AsArray().Select(n => (long)n!));

        using var file = SafetensorsFile.Open(Path.Combine(folder, "adapter_model.safetensors"));
        // PEFT 0.20+ saves a tied head's rows a second time under lm_head, and warns when that key is missing.
        Assert.Equal(new[] { HeadKey, EmbedKey }, file.Tensors.Select(t => t.Name).OrderBy(n => n, StringComparer.Ordinal));
        foreach (var tensor in file.Tensors)
        {
            Assert.Equal(SafetensorsDType.F32, tensor.DType);
            Assert.Equal(new long[] { 2, 64 }, tensor.Shape);
        }
        using var scope = NewDisposeScope();
        var rows = tuner.TrainableParameters("default")[0];
        Assert.True(file.Load(EmbedKey).eq(rows).all().item<bool>());
        Assert.True(file.Load(HeadKey).eq(rows).all().item<bool>());
        Assert.Equal("pt", file.Metadata["format"]);
    }

    [Fact]
    public void An_untied_head_trained_with_the_embedding_saves_its_own_rows_beside_the_embeddings()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = false });
        using var tuner = Trained(model, TargetModules.Names(new[] { "embed_tokens", "lm_head" }));
        var folder = Path.Combine(_dir, "untied");
        AdapterFolder.Save(tuner, "default", folder, overwrite: false);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "adapter_config.json")))!.AsObject();
        Assert.Equal(new[] { "embed_tokens", "lm_head" }, config["target_modules"]!.AsArray().Select(n => (string)n!));
        using var file = SafetensorsFile.Open(Path.Combine(folder, "adapter_model.safetensors"));
        Assert.Equal(new[] { HeadKey, EmbedKey }, file.Tensors.Select(t => t.Name).OrderBy(n => n, StringComparer.Ordinal));
        Assert.True(file.Load(EmbedKey).eq(tuner.Layers["model.embed_tokens"].Adapters["default"].Values).all().item<bool>());
        Assert.True(file.Load(HeadKey).eq(tuner.Layers["lm_head"].Adapters["default"].Values).all().item<bool>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_tied_models_adapter_loads_with_or_without_the_head_copy(bool withCopy)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true });
        var rows = full(1, 64, 0.5f);
        var folder = HandMade("copy-" + withCopy, """{"peft_type": "TRAINABLE_TOKENS", "token_indices": [7], "target_modules": "model.embed_tokens"}""", EmbedKey, rows,
            withCopy ? (HeadKey, rows) : null);
        using var tuner = new TrainableTokensModel(model);
        AdapterFolder.Load(tuner, folder, "x");
        Assert.True(tuner.TrainableParameters("x")[0].eq(0.5f).all().item<bool>());
    }

    [Fact]
    public void A_tied_head_copy_that_differs_is_refused_naming_both_keys()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true });
        var folder = HandMade("copy-differs", """{"peft_type": "TRAINABLE_TOKENS", "token_indices": [7], "target_modules": "model.embed_tokens"}""", EmbedKey, full(1, 64, 0.5f),
            (HeadKey, full(1, 64, 0.25f)));
        using var tuner = new TrainableTokensModel(model);
        var error = Assert.Throws<InvalidAdapterException>(() => AdapterFolder.Load(tuner, folder, "x"));
        Assert.Contains($"'{HeadKey}' differs from '{EmbedKey}'", error.Message);
        Assert.Empty(tuner.Configs);
    }

    [Fact]
    public void A_bfloat16_model_saves_float32_rows()
    {
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "gemma" }, ScalarType.BFloat16);
        using var tuner = Trained(model);
        AdapterFolder.Save(tuner, "default", Path.Combine(_dir, "bf"), overwrite: false);
        using var file = SafetensorsFile.Open(Path.Combine(_dir, "bf", "adapter_model.safetensors"));
        Assert.Equal(SafetensorsDType.F32, file.Tensors[0].DType);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Save_then_load_gives_identical_outputs(bool tied)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = tied });
        Tensor expected;
        using (var tuner = Trained(model, tied ? null : TargetModules.Names(new[] { "embed_tokens", "lm_head" })))
        {
            using var output = model.Forward(TinyModels.Ids(Sequence));
            expected = output.Logits.clone();
            AdapterFolder.Save(tuner, "default", Path.Combine(_dir, "s"), overwrite: false);
        }
        using var again = new TrainableTokensModel(model);
        AdapterFolder.Load(again, Path.Combine(_dir, "s"), "reloaded");
        using var reloaded = model.Forward(TinyModels.Ids(Sequence));
        Assert.True(reloaded.Logits.eq(expected).all().item<bool>());
    }

    [Theory]
    [InlineData("\"model.embed_tokens\"", 0.5f, AdapterHeadRows.TiedCopy)]
    [InlineData("[\"embed_tokens\", \"lm_head\"]", 0.5f, AdapterHeadRows.TiedCopy)]   // PEFT on a tied model: both keys, equal rows
    [InlineData("[\"embed_tokens\", \"lm_head\"]", 0.25f, AdapterHeadRows.Own)]
    public void Get_TokenAdapter_tells_a_heads_own_rows_from_a_tied_heads_copy(string targets, float headValue, AdapterHeadRows expected)
    {
        using var scope = NewDisposeScope();
        var folder = HandMade("summary-" + expected + headValue, $$"""{"peft_type": "TRAINABLE_TOKENS", "token_indices": [7], "target_modules": {{targets}}}""",
            EmbedKey, full(1, 64, 0.5f), (HeadKey, full(1, 64, headValue)));
        var summary = AdapterSummary.Read(folder);
        Assert.Equal(expected, summary.HeadRows);
        Assert.Equal(expected == AdapterHeadRows.Own ? new[] { "model.embed_tokens", "lm_head" } : new[] { "model.embed_tokens" }, summary.Modules);
    }

    [Fact]
    public void Get_TokenAdapter_refuses_a_head_entry_that_target_modules_does_not_name_and_that_differs_naming_both_keys()
    {
        using var scope = NewDisposeScope();
        var folder = HandMade("summary-bad", """{"peft_type": "TRAINABLE_TOKENS", "token_indices": [7], "target_modules": "model.embed_tokens"}""",
            EmbedKey, full(1, 64, 0.5f), (HeadKey, full(1, 64, 0.25f)));
        var error = Assert.Throws<InvalidAdapterException>(() => AdapterSummary.Read(folder));
        Assert.Contains($"'{HeadKey}' differs from '{EmbedKey}'", error.Message);
    }

    [Fact]
    public void Keys_with_an_adapter_name_suffix_load()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build("llama");
        var folder = HandMade("suffix", """{"peft_type": "TRAINABLE_TOKENS", "token_indices": [7], "target_modules": ["embed_tokens"]}""", EmbedKey + ".default", full(1, 64, 0.5f));
        using var tuner = new TrainableTokensModel(model);
        AdapterFolder.Load(tuner, folder, "x");
        Assert.True(tuner.TrainableParameters("x")[0].eq(0.5f).all().item<bool>());
    }

    [Fact]
    public void Unknown_config_keys_are_kept_when_saved_again()
    {
        var json = """{"peft_type": "TRAINABLE_TOKENS", "token_indices": [1, 2], "future_option": {"a": [1, 2]}, "target_modules": "model.embed_tokens"}""";
        var config = TrainableTokensAdapterConfig.FromJson(json, "adapter_config.json");
        var again = JsonNode.Parse(config.ToJson())!.AsObject();
        Assert.Equal("""{"a":[1,2]}""", again["future_option"]!.ToJsonString());
    }

    [Fact]
    public void A_pickle_adapter_is_refused_with_the_way_out()
    {
        using var model = TinyModels.Build("llama");
        var folder = Path.Combine(_dir, "pickle");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), """{"peft_type": "TRAINABLE_TOKENS", "token_indices": [1]}""");
        File.WriteAllBytes(Path.Combine(folder, "adapter_model.bin"), new byte[] { 0x80, 0x02 });
        using var tuner = new TrainableTokensModel(model);
        var error = Assert.Throws<InvalidAdapterException>(() => AdapterFolder.Load(tuner, folder, "p"));
        Assert.Contains("pickle", error.Message);
        Assert.Contains("safe_serialization=True", error.Message);
        Assert.Empty(tuner.Configs);
    }

    [Fact]
    public void A_shape_that_does_not_fit_the_model_names_the_file_and_key()
    {
        using var model = TinyModels.Build("llama");
        var folder = HandMade("shape", """{"peft_type": "TRAINABLE_TOKENS", "token_indices": [1, 2]}""", EmbedKey, zeros(2, 32));
        using var tuner = new TrainableTokensModel(model);
        var error = Assert.Throws<InvalidAdapterException>(() => AdapterFolder.Load(tuner, folder, "s"));
        Assert.Contains("adapter_model.safetensors", error.Message);
        Assert.Contains("base_model.model.model.embed_tokens.trainable_tokens_delta", error.Message);
        Assert.Contains("[2, 64]", error.Message);
        Assert.Empty(tuner.Configs);
    }

    [Theory]
    [InlineData(ScalarType.Int32, "I32")]
    [InlineData(ScalarType.Int64, "I64")]
    [InlineData(ScalarType.Byte, "U8")]
    [InlineData(ScalarType.Bool, "BOOL")]
    public void Rows_stored_as_integers_or_booleans_are_refused_not_cast(ScalarType dtype, string header)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build("llama");
        var folder = HandMade("int-rows", """{"peft_type": "TRAINABLE_TOKENS", "token_indices": [7]}""", EmbedKey, ones(1, 64).to(dtype));
        using var tuner = new TrainableTokensModel(model);

        var error = Assert.Throws<InvalidAdapterException>(() => AdapterFolder.Load(tuner, folder, "x"));

        Assert.Contains($"'{EmbedKey}' is stored as {header}", error.Message);
        Assert.Contains(Path.Combine(folder, "adapter_model.safetensors"), error.Message);
        Assert.Empty(tuner.Configs);
    }

    [Fact]
    public void Token_ids_past_the_models_vocabulary_are_refused()
    {
        using var model = TinyModels.Build("llama");
        var folder = HandMade("vocab", """{"peft_type": "TRAINABLE_TOKENS", "token_indices": [130]}""", EmbedKey, zeros(1, 64));
        using var tuner = new TrainableTokensModel(model);
        var error = Assert.Throws<InvalidAdapterException>(() => AdapterFolder.Load(tuner, folder, "v"));
        Assert.Contains("130", error.Message);
        Assert.Contains("0 to 127", error.Message);
    }

    [Fact]
    public void Another_method_is_refused_by_its_peft_type()
    {
        var error = Assert.Throws<InvalidAdapterException>(() => TrainableTokensAdapterConfig.FromJson("""{"peft_type": "LORA", "r": 8}""", "adapter_config.json"));
        Assert.Contains("LORA", error.Message);
    }
}
