using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Merging;
using TrainableTokens.Core.Tokenization;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Models;

/// <summary>
/// A Gemma3ForConditionalGeneration folder as the Hub has them: text weights under <c>language_model.model.</c>, vision
/// weights beside them. Its text model is exactly a gemma3_text model; a merge writes rows into the stored embedding and
/// copies the vision weights unchanged.
/// </summary>
public sealed class Gemma3FolderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-gemma3-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly long[] Ids = { 3, 17, 99, 4, 60, 5, 21, 8, 120, 2 };

    [Fact]
    public void The_text_model_of_a_gemma3_folder_is_exactly_the_gemma3_text_model_with_the_same_weights()
    {
        var conditional = Path.Combine(_dir, "gemma3");
        var text = Path.Combine(_dir, "gemma3-text");
        TinyModelFactory.Create(conditional, new TinyModelSpec { ModelType = "gemma3", Seed = 5, HeadDim = 16, SlidingWindow = 3 });
        TinyModelFactory.Create(text, new TinyModelSpec { ModelType = "gemma3_text", Seed = 5, HeadDim = 16, SlidingWindow = 3 });
        using (var stored = Checkpoint.OpenFolder(conditional))
        {
            Assert.Contains("language_model.model.embed_tokens.weight", stored.Names);
            Assert.Contains("vision_tower.vision_model.post_layernorm.weight", stored.Names);
            Assert.DoesNotContain(stored.Names, n => n.StartsWith("model.", StringComparison.Ordinal));
        }

        using var scope = NewDisposeScope();
        using var a = ModelLoader.Load(conditional);
        using var b = ModelLoader.Load(text);
        Assert.DoesNotContain(a.Weights.Keys, k => k.Contains("vision", StringComparison.Ordinal));
        Assert.Equal("model.language_model.embed_tokens", a.InputEmbedding.Path);
        using var outA = a.Forward(tensor(Ids, new long[] { 1, Ids.Length }), outputHiddenStates: true);
        using var outB = b.Forward(tensor(Ids, new long[] { 1, Ids.Length }), outputHiddenStates: true);
        Assert.True(outA.Logits.eq(outB.Logits).all().item<bool>());
        Assert.Equal(outB.HiddenStates.Count, outA.HiddenStates.Count);
    }

    [Fact]
    public void Merging_into_a_gemma3_folder_writes_the_stored_embedding_and_keeps_the_vision_weights_byte_identical()
    {
        var model = Path.Combine(_dir, "m");
        TinyModelFactory.Create(model, new TinyModelSpec { ModelType = "gemma3", Seed = 2, HeadDim = 16 });
        var adapter = Path.Combine(_dir, "a");
        Directory.CreateDirectory(adapter);
        File.WriteAllText(Path.Combine(adapter, "adapter_config.json"),
            """{"peft_type": "TRAINABLE_TOKENS", "token_indices": [7, 9], "target_modules": ["embed_tokens"]}""");
        SafetensorsWriter.Write(Path.Combine(adapter, "adapter_model.safetensors"),
            new List<KeyValuePair<string, Tensor>> { new(AdapterFolder.KeyFor("model.language_model.embed_tokens"), full(2, 64, 0.25f)) },
            new Dictionary<string, string> { ["format"] = "pt" });
        var output = Path.Combine(_dir, "merged");

        var result = AdapterMerge.Run(new AdapterMergeRequest(model, new[] { adapter }, output));

        Assert.Equal("language_model.model.embed_tokens.weight", Assert.Single(result.Changes).Tensor);
        using var before = Checkpoint.OpenFolder(model);
        using var after = Checkpoint.OpenFolder(output);
        Assert.Equal(before.Names.OrderBy(n => n), after.Names.OrderBy(n => n));
        foreach (var name in before.Names.Where(n => n != "language_model.model.embed_tokens.weight"))
        {
            using var x = before.Load(name);
            using var y = after.Load(name);
            Assert.Equal(x.bytes.ToArray(), y.bytes.ToArray());
        }
        using var merged = after.Load("language_model.model.embed_tokens.weight");
        Assert.True(merged.index_select(0, tensor(new long[] { 7, 9 })).eq(0.25f).all().item<bool>());
        using var loaded = ModelLoader.Load(output);
        Assert.Equal(128, loaded.Config.VocabSize);
    }

    [Fact]
    public void Resizing_a_gemma3_folder_grows_the_stored_embedding_and_text_config_vocab_size()
    {
        var model = Path.Combine(_dir, "small");
        TinyModelFactory.Create(model, new TinyModelSpec { ModelType = "gemma3", Seed = 4, HeadDim = 16 });
        var output = Path.Combine(_dir, "grown");
        Directory.CreateDirectory(output);

        var result = EmbeddingResizer.Resize(model, output, new EmbeddingResizePlan { NewVocabSize = 131 });

        Assert.Equal(new[] { "language_model.model.embed_tokens.weight" }, result.ResizedTensors);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(output, "config.json")));
        Assert.Equal(131, doc.RootElement.GetProperty("text_config").GetProperty("vocab_size").GetInt32());
        Assert.False(doc.RootElement.TryGetProperty("vocab_size", out _));
        using var scope = NewDisposeScope();
        using var before = Checkpoint.OpenFolder(model);
        using var after = Checkpoint.OpenFolder(output);
        Assert.Equal(new long[] { 131, 64 }, after.Info("language_model.model.embed_tokens.weight").Shape);
        Assert.True(after.Load("language_model.model.embed_tokens.weight").narrow(0, 0, 128).eq(before.Load("language_model.model.embed_tokens.weight")).all().item<bool>());
        Assert.Equal(before.Load("vision_tower.vision_model.post_layernorm.weight").bytes.ToArray(), after.Load("vision_tower.vision_model.post_layernorm.weight").bytes.ToArray());
        using var loaded = ModelLoader.Load(output);
        Assert.Equal(131, loaded.Config.VocabSize);
    }

    [Fact]
    public void An_adapter_PEFT_saved_under_transformers_older_gemma3_module_names_loads_and_merges()
    {
        // Before transformers 4.52 the embedding was language_model.model.embed_tokens, and PEFT's key said so.
        var model = Path.Combine(_dir, "old-names");
        TinyModelFactory.Create(model, new TinyModelSpec { ModelType = "gemma3", Seed = 6, HeadDim = 16 });
        var adapter = Path.Combine(_dir, "old-adapter");
        Directory.CreateDirectory(adapter);
        File.WriteAllText(Path.Combine(adapter, "adapter_config.json"),
            """{"peft_type": "TRAINABLE_TOKENS", "token_indices": [3], "target_modules": ["embed_tokens"]}""");
        SafetensorsWriter.Write(Path.Combine(adapter, "adapter_model.safetensors"),
            new List<KeyValuePair<string, Tensor>> { new("base_model.model.language_model.model.embed_tokens.trainable_tokens_delta", full(1, 64, 0.5f)) },
            new Dictionary<string, string> { ["format"] = "pt" });

        using var scope = NewDisposeScope();
        using var loaded = ModelLoader.Load(model);
        using var tuner = new TrainableTokensModel(loaded);
        AdapterFolder.Load(tuner, adapter, "old");
        var embedded = loaded.InputEmbedding.Embed(tensor(new long[] { 3 }).unsqueeze(0));
        Assert.True(embedded.eq(0.5f).all().item<bool>());
        var merged = AdapterMerge.Run(new AdapterMergeRequest(model, new[] { adapter }, Path.Combine(_dir, "old-merged")));
        Assert.Equal("language_model.model.embed_tokens.weight", Assert.Single(merged.Changes).Tensor);
    }
}
