using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Merging;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Tuners;

public sealed class AdapterMergeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-merge-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Model(string name, TinyModelSpec spec)
    {
        var path = Path.Combine(_dir, name);
        TinyModelFactory.Create(path, spec);
        return path;
    }

    /// <summary>An adapter folder written by hand in PEFT's format, with known rows.</summary>
    private string Adapter(string name, long[] ids, float value, int hidden = 64, string module = "model.embed_tokens", string? extraModule = null)
    {
        var folder = Path.Combine(_dir, name);
        Directory.CreateDirectory(folder);
        // PEFT's forms: the inferred full name as a string, or a list of names when a second module is targeted.
        var targets = extraModule is null ? $"\"{module}\"" : $"[\"{module}\", \"{extraModule}\"]";
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"),
            $$"""{"peft_type": "TRAINABLE_TOKENS", "token_indices": [{{string.Join(", ", ids)}}], "target_modules": {{targets}}}""");
        var tensors = new List<KeyValuePair<string, Tensor>> { new(AdapterFolder.KeyFor(module), arange(ids.Length * hidden, ScalarType.Float32).view(ids.Length, hidden) * 0.001f + value) };
        if (extraModule is not null) tensors.Add(new(AdapterFolder.KeyFor(extraModule), full(ids.Length, hidden, -value)));
        SafetensorsWriter.Write(Path.Combine(folder, "adapter_model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        return folder;
    }

    private static Dictionary<string, byte[]> AllTensors(string folder)
    {
        using var checkpoint = Checkpoint.OpenFolder(folder);
        return checkpoint.Names.ToDictionary(n => n, n => { using var t = checkpoint.Load(n); return t.bytes.ToArray(); });
    }

    [Theory]
    [InlineData("float32")]
    [InlineData("bfloat16")]
    public void Merging_writes_the_rows_bit_for_bit_and_leaves_every_other_tensor_byte_identical(string dtype)
    {
        var model = Model("m-" + dtype, new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true, Dtype = dtype });
        var adapter = Adapter("a-" + dtype, new long[] { 9, 4 }, 0.5f);
        var output = Path.Combine(_dir, "merged-" + dtype);

        var result = AdapterMerge.Run(new AdapterMergeRequest(model, new[] { adapter }, output));

        var change = Assert.Single(result.Changes);
        Assert.Equal("model.embed_tokens.weight", change.Tensor);
        var before = AllTensors(model);
        var after = AllTensors(output);
        Assert.Equal(before.Keys.OrderBy(k => k), after.Keys.OrderBy(k => k));
        foreach (var name in before.Keys.Where(n => n != "model.embed_tokens.weight"))
            Assert.Equal(before[name], after[name]);

        using var scope = NewDisposeScope();
        using var merged = Checkpoint.OpenFolder(output);
        using var original = Checkpoint.OpenFolder(model);
        using var rows = SafetensorsFile.Open(Path.Combine(adapter, "adapter_model.safetensors"));
        var expectedRows = rows.Load(rows.Tensors[0].Name).to(ModelDtype.Parse(dtype));
        var weight = merged.Load("model.embed_tokens.weight");
        Assert.True(weight.index_select(0, tensor(new long[] { 9, 4 })).eq(expectedRows).all().item<bool>());
        var untouched = Enumerable.Range(0, 128).Where(i => i is not (9 or 4)).Select(i => (long)i).ToArray();
        Assert.True(weight.index_select(0, tensor(untouched)).eq(original.Load("model.embed_tokens.weight").index_select(0, tensor(untouched))).all().item<bool>());
        Assert.Equal(File.ReadAllText(Path.Combine(model, "config.json")), File.ReadAllText(Path.Combine(output, "config.json")));
    }

    [Fact]
    public void A_tied_checkpoint_that_also_stores_its_head_gets_the_rows_in_both_copies()
    {
        // Qwen3-0.6B's files hold lm_head.weight although config.json ties it: the copy must not go stale.
        var model = Model("stored-head", new TinyModelSpec { ModelType = "qwen3", TieWordEmbeddings = true, HeadDim = 16 });
        var file = Path.Combine(model, "model.safetensors");
        using (var scope = NewDisposeScope())
        {
            var tensors = new List<KeyValuePair<string, Tensor>>();
            using (var source = SafetensorsFile.Open(file))
            {
                foreach (var t in source.Tensors) tensors.Add(new(t.Name, source.Load(t.Name)));
                tensors.Add(new("lm_head.weight", source.Load("model.embed_tokens.weight")));
            }
            SafetensorsWriter.Write(file, tensors, new Dictionary<string, string> { ["format"] = "pt" });
        }
        var adapter = Adapter("a-stored-head", new long[] { 5, 11 }, 0.75f);
        var output = Path.Combine(_dir, "merged-stored-head");

        var result = AdapterMerge.Run(new AdapterMergeRequest(model, new[] { adapter }, output));

        Assert.Equal(new[] { "model.embed_tokens.weight", "lm_head.weight" }, result.Changes.Select(c => c.Tensor));
        var after = AllTensors(output);
        Assert.Equal(after["model.embed_tokens.weight"], after["lm_head.weight"]);
        Assert.NotEqual(AllTensors(model)["lm_head.weight"], after["lm_head.weight"]);
    }

    [Fact]
    public void An_untied_head_targeted_explicitly_gets_its_own_rows()
    {
        var model = Model("untied", new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = false });
        var adapter = Adapter("both", new long[] { 3 }, 0.25f, extraModule: "lm_head");
        var result = AdapterMerge.Run(new AdapterMergeRequest(model, new[] { adapter }, Path.Combine(_dir, "out-untied")));
        Assert.Equal(new[] { "lm_head.weight", "model.embed_tokens.weight" }, result.Changes.Select(c => c.Tensor).OrderBy(t => t, StringComparer.Ordinal));
        using var merged = Checkpoint.OpenFolder(Path.Combine(_dir, "out-untied"));
        using var head = merged.Load("lm_head.weight");
        Assert.True(head[3].eq(-0.25f).all().item<bool>());
    }

    [Fact]
    public void A_tied_heads_copy_is_accepted_when_it_repeats_the_embeddings_rows_and_written_once()
    {
        var model = Model("tied-copy", new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true });
        var folder = Adapter("tied-copy-a", new long[] { 3 }, 0.25f);
        using (var scope = NewDisposeScope())
        {
            using var file = SafetensorsFile.Open(Path.Combine(folder, "adapter_model.safetensors"));
            var rows = file.Load(AdapterFolder.KeyFor("model.embed_tokens")).clone();
            file.Dispose();
            SafetensorsWriter.Write(Path.Combine(folder, "adapter_model.safetensors"),
                [new(AdapterFolder.KeyFor("model.embed_tokens"), rows), new(AdapterFolder.KeyFor("lm_head"), rows)], new Dictionary<string, string> { ["format"] = "pt" });
        }
        var result = AdapterMerge.Plan(new AdapterMergeRequest(model, [folder], Path.Combine(_dir, "out-tied-copy")));
        Assert.Equal("model.embed_tokens.weight", Assert.Single(result.Changes).Tensor);
    }

    [Fact]
    public void A_tied_heads_copy_that_differs_is_refused_naming_both_keys()
    {
        var model = Model("tied-differs", new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true });
        var folder = Adapter("tied-differs-a", new long[] { 3 }, 0.25f, extraModule: "lm_head");
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), """{"peft_type": "TRAINABLE_TOKENS", "token_indices": [3], "target_modules": "model.embed_tokens"}""");
        var output = Path.Combine(_dir, "out-tied-differs");
        var error = Assert.Throws<InvalidAdapterException>(() => AdapterMerge.Run(new AdapterMergeRequest(model, [folder], output)));
        Assert.Contains($"'{AdapterFolder.KeyFor("lm_head")}' differs from '{AdapterFolder.KeyFor("model.embed_tokens")}'", error.Message);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void Head_rows_that_target_modules_does_not_name_are_refused_on_an_untied_model_as_loading_refuses_them()
    {
        var model = Model("untied-stray", new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = false });
        var folder = Adapter("untied-stray-a", new long[] { 3 }, 0.25f, extraModule: "lm_head");
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), """{"peft_type": "TRAINABLE_TOKENS", "token_indices": [3], "target_modules": "model.embed_tokens"}""");
        var merge = Assert.Throws<InvalidAdapterException>(() => AdapterMerge.Plan(new AdapterMergeRequest(model, [folder], Path.Combine(_dir, "out-untied-stray"))));
        Assert.Contains(AdapterFolder.KeyFor("lm_head"), merge.Message);
        using var loaded = ModelLoader.Load(model);
        using var tuner = new TrainableTokensModel(loaded);
        var load = Assert.Throws<InvalidAdapterException>(() => AdapterFolder.Load(tuner, folder, "x"));
        Assert.Contains(AdapterFolder.KeyFor("lm_head"), load.Message);
    }

    [Fact]
    public void Sharded_models_are_patched_in_the_shard_that_holds_the_embedding()
    {
        var model = Model("sharded", new TinyModelSpec { ModelType = "gemma", MaxShardBytes = 20000 });
        var adapter = Adapter("g", new long[] { 1, 2, 3 }, 1.5f);
        var output = Path.Combine(_dir, "out-sharded");
        var result = AdapterMerge.Run(new AdapterMergeRequest(model, new[] { adapter }, output));
        Assert.Equal(Directory.GetFiles(model).Select(Path.GetFileName).OrderBy(n => n), Directory.GetFiles(output).Select(Path.GetFileName).OrderBy(n => n));
        var shard = Path.GetFileName(result.Changes[0].File);
        // The marker names the command that wrote each folder (New-TinyModel, then Merge-TokenAdapter): it must differ.
        Assert.Equal(AdapterMerge.Writer, AtomicFolder.WriterOf(output));
        foreach (var file in Directory.GetFiles(model).Where(f => Path.GetFileName(f) != shard && Path.GetFileName(f) != AtomicFolder.MarkerFileName))
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(Path.Combine(output, Path.GetFileName(file))));
    }

    [Fact]
    public void Integer_rows_are_refused_rather_than_cast_into_the_model()
    {
        var model = Model("int-rows", new TinyModelSpec { ModelType = "llama" });
        var folder = Path.Combine(_dir, "int-a");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), """{"peft_type": "TRAINABLE_TOKENS", "token_indices": [1], "target_modules": "model.embed_tokens"}""");
        SafetensorsWriter.Write(Path.Combine(folder, "adapter_model.safetensors"),
            [new(AdapterFolder.KeyFor("model.embed_tokens"), ones(1, 64, ScalarType.Int32))], new Dictionary<string, string> { ["format"] = "pt" });
        var e = Assert.Throws<InvalidAdapterException>(() => AdapterMerge.Plan(new AdapterMergeRequest(model, [folder], Path.Combine(_dir, "out-int"))));
        Assert.Contains("I32", e.Message);
    }

    [Fact]
    public void Token_ids_past_the_vocabulary_are_refused_naming_the_adapter_folder()
    {
        var model = Model("small-vocab", new TinyModelSpec { ModelType = "llama" });
        var folder = Adapter("too-far", new long[] { 100039 }, 0.1f);
        var e = Assert.Throws<InvalidAdapterException>(() => AdapterMerge.Plan(new AdapterMergeRequest(model, [folder], Path.Combine(_dir, "out-far"))));
        Assert.Contains(folder, e.Message);
        Assert.Contains("100039", e.Message);
    }

    [Fact]
    public void Several_disjoint_adapters_merge_together()
    {
        var model = Model("multi", new TinyModelSpec { ModelType = "qwen2" });
        var a = Adapter("ad-a", new long[] { 1 }, 0.1f);
        var b = Adapter("ad-b", new long[] { 2 }, 0.2f);
        var result = AdapterMerge.Run(new AdapterMergeRequest(model, new[] { a, b }, Path.Combine(_dir, "out-multi")));
        Assert.Equal(new[] { "ad-a", "ad-b" }, result.Adapters);
        Assert.Equal(2, result.Changes.Count);
    }

    [Fact]
    public void Overlapping_adapters_are_refused_before_anything_is_written()
    {
        var model = Model("overlap", new TinyModelSpec { ModelType = "llama" });
        var a = Adapter("o-a", new long[] { 1, 2 }, 0.1f);
        var b = Adapter("o-b", new long[] { 2, 3 }, 0.2f);
        var output = Path.Combine(_dir, "out-overlap");
        var error = Assert.Throws<AdapterConflictException>(() => AdapterMerge.Run(new AdapterMergeRequest(model, new[] { a, b }, output)));
        Assert.Equal("o-b", error.Adapter);
        Assert.False(Directory.Exists(output));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(_dir), e => Path.GetFileName(e).StartsWith(".out-overlap", StringComparison.Ordinal));
    }

    [Fact]
    public void Safe_merge_refuses_NaN_rows_and_writes_nothing()
    {
        var model = Model("nan", new TinyModelSpec { ModelType = "llama" });
        var folder = Adapter("nan-a", new long[] { 1 }, float.NaN);
        var output = Path.Combine(_dir, "out-nan");
        Assert.Throws<InvalidAdapterException>(() => AdapterMerge.Run(new AdapterMergeRequest(model, new[] { folder }, output) { SafeMerge = true }));
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void An_existing_output_is_replaced_only_when_asked()
    {
        var model = Model("exists", new TinyModelSpec { ModelType = "llama" });
        var adapter = Adapter("e", new long[] { 1 }, 0.1f);
        var output = Path.Combine(_dir, "out-exists");
        Directory.CreateDirectory(output);
        Assert.Equal("OutputExists", Assert.Throws<OutputConflictException>(() => AdapterMerge.Run(new AdapterMergeRequest(model, new[] { adapter }, output))).ErrorId);
        AdapterMerge.Run(new AdapterMergeRequest(model, new[] { adapter }, output) { Overwrite = true });
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));
    }

    [Fact]
    public void Rows_for_a_module_the_model_does_not_have_are_refused()
    {
        var model = Model("gpt", new TinyModelSpec { ModelType = "gpt2", NumKeyValueHeads = 4 });
        var adapter = Adapter("wrong", new long[] { 1 }, 0.1f, module: "model.embed_tokens");
        var error = Assert.Throws<InvalidAdapterException>(() => AdapterMerge.Run(new AdapterMergeRequest(model, new[] { adapter }, Path.Combine(_dir, "out-gpt"))));
        Assert.Contains("transformer.wte", error.Message);
    }

    [Fact]
    public void A_merged_folder_loads_and_gives_the_adapted_outputs()
    {
        var modelPath = Model("roundtrip", new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true });
        var adapter = Adapter("rt", new long[] { 5, 6 }, 0.3f);
        var output = Path.Combine(_dir, "out-roundtrip");
        AdapterMerge.Run(new AdapterMergeRequest(modelPath, new[] { adapter }, output));
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 3, 5, 9, 6 }, new long[] { 1, 4 });
        using var adapted = ModelLoader.Load(modelPath);
        using var tuner = new TrainableTokensModel(adapted);
        AdapterFolder.Load(tuner, adapter, "rt");
        using var expected = adapted.Forward(ids);
        using var merged = ModelLoader.Load(output);
        using var actual = merged.Forward(ids);
        Assert.True(actual.Logits.allclose(expected.Logits, rtol: 1e-5, atol: 1e-6));
    }
}
