using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TorchSharp;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Merging;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Merging;

/// <summary>LoRA adapters (alone, with trainable tokens, with saved modules) merged into a copy of a model folder, tensor by tensor.</summary>
public sealed class LoraMergeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-lora-merge-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Model(string name, TinyModelSpec spec)
    {
        var path = Path.Combine(_dir, name);
        TinyModelFactory.Create(path, spec);
        return path;
    }

    private static readonly string[] Projections = { "model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.v_proj", "model.layers.0.mlp.down_proj" };

    /// <summary>
    /// A LoRA adapter written by hand in PEFT's format: seeded pairs for <paramref name="paths"/> (rank 4, down_proj rank 2 by
    /// rank_pattern), optional token rows under token_adapter, optional saved modules, and the config text PEFT writes.
    /// </summary>
    private string Adapter(string name, ModelConfig model, IReadOnlyList<string> paths, string extraConfig = "",
        IEnumerable<KeyValuePair<string, Tensor>>? extraTensors = null, Func<string, Tensor, Tensor>? editB = null, int seed = 3)
    {
        var folder = Path.Combine(_dir, name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"),
            $$"""{"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj", "down_proj"], "rank_pattern": {"down_proj": 2}, "alpha_pattern": {"v_proj": 2}{{extraConfig}}}""");
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)seed);
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var path in paths)
        {
            var (outF, inF) = Shape(model, path);
            var r = path.EndsWith("down_proj", StringComparison.Ordinal) ? 2 : 4;
            var a = randn(new long[] { r, inF }, generator: generator).mul_(0.2);
            var b = randn(new long[] { outF, r }, generator: generator).mul_(0.2);
            tensors.Add(new(LoraAdapterFolder.KeyA(path), a));
            tensors.Add(new(LoraAdapterFolder.KeyB(path), editB?.Invoke(path, b) ?? b));
        }
        if (extraTensors is not null) tensors.AddRange(extraTensors);
        SafetensorsWriter.Write(Path.Combine(folder, "adapter_model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        return folder;
    }

    private static (long Out, long In) Shape(ModelConfig model, string path)
    {
        var w = ModelLoader.ExpectedWeights(model).Single(w => w.Name == path + ".weight");
        return (w.Shape[0], w.Shape[1]);
    }

    private static double Scaling(string path) => path.EndsWith("down_proj", StringComparison.Ordinal) ? 8.0 / 2 : path.EndsWith("v_proj", StringComparison.Ordinal) ? 2.0 / 4 : 8.0 / 4;

    private static Dictionary<string, byte[]> AllTensors(string folder)
    {
        using var checkpoint = Checkpoint.OpenFolder(folder);
        return checkpoint.Names.ToDictionary(n => n, n => { using var t = checkpoint.Load(n); return t.bytes.ToArray(); });
    }

    [Theory]
    [InlineData("float32", false)]
    [InlineData("bfloat16", false)]
    [InlineData("bfloat16", true)]
    [InlineData("float16", false)]
    public void Merged_weights_are_W_plus_scaling_B_A_in_PEFTs_arithmetic_and_every_other_tensor_is_byte_identical(string dtype, bool safe)
    {
        var model = Model("m", new TinyModelSpec { ModelType = "llama", Dtype = dtype, TieWordEmbeddings = true });
        var config = ModelConfigReader.ReadFolder(model);
        var adapter = Adapter("a", config, Projections);
        var output = Path.Combine(_dir, "merged");

        var result = AdapterMerge.Run(new AdapterMergeRequest(model, [adapter], output) { SafeMerge = safe });

        Assert.Empty(result.Changes);
        Assert.Equal(Projections.Select(p => p + ".weight").Order(StringComparer.Ordinal), result.Tensors.Select(t => t.Tensor).Order(StringComparer.Ordinal));
        var before = AllTensors(model);
        var after = AllTensors(output);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var name in before.Keys.Where(n => !Projections.Contains(n[..^".weight".Length])))
            Assert.Equal(before[name], after[name]);

        using var scope = NewDisposeScope();
        using var original = Checkpoint.OpenFolder(model);
        using var merged = Checkpoint.OpenFolder(output);
        using var pairs = SafetensorsFile.Open(Path.Combine(adapter, "adapter_model.safetensors"));
        var type = ModelDtype.Parse(dtype);
        foreach (var path in Projections)
        {
            var w = original.Load(path + ".weight");
            var delta = pairs.Load(LoraAdapterFolder.KeyB(path)).matmul(pairs.Load(LoraAdapterFolder.KeyA(path))).mul(Scaling(path));
            // PEFT: merge adds the float32 delta in place (one rounding); safe_merge casts the delta first, then adds.
            var peft = safe ? w.add(delta.to(type)) : w.to(ScalarType.Float32).add(delta).to(type);
            var got = merged.Load(path + ".weight");
            Assert.Equal(type, got.dtype);
            Assert.True(got.eq(peft).all().item<bool>(), $"{path} differs from PEFT's merge");
            // And by hand in float64, within the stored dtype's rounding.
            var exact = w.to(ScalarType.Float64).add(delta.to(ScalarType.Float64));
            var tolerance = dtype == "float32" ? 1e-6 : dtype == "float16" ? 2e-3 : 1.6e-2;
            Assert.True(got.to(ScalarType.Float64).allclose(exact, rtol: tolerance, atol: tolerance), $"{path} is not W + s * B @ A");
            Assert.False(got.eq(w).all().item<bool>());
        }
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("qwen3")]
    public void The_merged_model_gives_the_logits_of_the_base_model_with_the_adapter_loaded(string type)
    {
        var model = Model("m-" + type, new TinyModelSpec { ModelType = type, HeadDim = type == "qwen3" ? 16 : null });
        var adapter = Path.Combine(_dir, "trained-" + type);
        using (var scope = NewDisposeScope())
        using (var loaded = ModelLoader.Load(model))
        using (var tuner = new LoraModel(loaded))
        {
            tuner.AddAdapter("default", new LoraConfig { R = 4, LoraAlpha = 16, UseRslora = true, TargetModules = LoraTargets.FromString("all-linear") });
            var generator = new Generator(11);
            using var noGrad = no_grad();
            foreach (var p in tuner.TrainableParameters("default")) p.copy_(randn(p.shape, generator: generator).mul_(0.1));
            LoraAdapterFolder.Save(tuner, "default", adapter, overwrite: false);
        }
        var output = Path.Combine(_dir, "merged-" + type);
        AdapterMerge.Run(new AdapterMergeRequest(model, [adapter], output));

        using var scope2 = NewDisposeScope();
        var ids = tensor(new long[] { 3, 5, 9, 6, 11, 5, 1, 2, 40, 7, 8, 9 }, new long[] { 2, 6 });
        using var withAdapter = ModelLoader.Load(model);
        using var lora = new LoraModel(withAdapter);
        LoraAdapterFolder.Load(lora, adapter, "default");
        using var mergedModel = ModelLoader.Load(output);
        using var noGrad2 = no_grad();
        var expected = withAdapter.Forward(ids).Logits;
        var got = mergedModel.Forward(ids).Logits;
        using var baseModel = ModelLoader.Load(model);
        Assert.False(baseModel.Forward(ids).Logits.allclose(expected, rtol: 1e-3, atol: 1e-3), "the adapter must change the logits for the test to mean anything");
        Assert.True(got.allclose(expected, rtol: 1e-4, atol: 1e-5), $"max difference {got.sub(expected).abs().max().item<float>()}");
    }

    [Fact]
    public void Lora_with_trainable_tokens_in_list_form_merges_pairs_and_rows_and_matches_both_tuners_loaded()
    {
        var model = Model("tied", new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true });
        var config = ModelConfigReader.ReadFolder(model);
        var ids = new long[] { 7, 2 };
        var rows = arange(2 * 64, ScalarType.Float32).view(2, 64).mul(0.01f);
        var adapter = Adapter("combined", config, Projections, """, "trainable_token_indices": [7, 2]""",
            [new("base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta", rows)]);
        var output = Path.Combine(_dir, "merged-combined");

        var result = AdapterMerge.Run(new AdapterMergeRequest(model, [adapter], output));

        var change = Assert.Single(result.Changes);
        Assert.Equal("model.embed_tokens.weight", change.Tensor);
        Assert.Equal(ids, change.TokenIndices);
        Assert.Equal(3, result.Tensors.Count);

        using var scope = NewDisposeScope();
        using var merged = Checkpoint.OpenFolder(output);
        Assert.True(merged.Load("model.embed_tokens.weight").index_select(0, tensor(ids)).eq(rows).all().item<bool>());

        // The reference: the base model with the LoRA pairs and the token rows both active.
        using var loaded = ModelLoader.Load(model);
        using var lora = new LoraModel(loaded);
        lora.AddAdapter("default", new LoraConfig
        {
            R = 4, LoraAlpha = 8, TargetModules = LoraTargets.List(new[] { "q_proj", "v_proj", "down_proj" }),
            RankPattern = new[] { new KeyValuePair<string, int>("down_proj", 2) }, AlphaPattern = new[] { new KeyValuePair<string, double>("v_proj", 2) },
        });
        using (var pairs = SafetensorsFile.Open(Path.Combine(adapter, "adapter_model.safetensors")))
        using (var noGrad = no_grad())
            foreach (var layer in lora.Layers.Values)
            {
                if (!Projections.Contains(layer.Path)) { layer.Adapters["default"].B.zero_(); continue; }
                layer.Adapters["default"].A.copy_(pairs.Load(LoraAdapterFolder.KeyA(layer.Path)));
                layer.Adapters["default"].B.copy_(pairs.Load(LoraAdapterFolder.KeyB(layer.Path)));
            }
        using var tokens = new TrainableTokensModel(loaded);
        tokens.AddAdapter("default", new TrainableTokensAdapterConfig { TokenIndices = ids });
        using (var noGrad = no_grad()) tokens.Layers["model.embed_tokens"].Adapters["default"].Values.copy_(rows);
        using var mergedModel = ModelLoader.Load(output);
        using var noGrad2 = no_grad();
        var input = tensor(new long[] { 7, 3, 2, 9, 7, 1 }, new long[] { 1, 6 });
        var expected = loaded.Forward(input).Logits;
        var got = mergedModel.Forward(input).Logits;
        Assert.True(got.allclose(expected, rtol: 1e-4, atol: 1e-5), $"max difference {got.sub(expected).abs().max().item<float>()}");
    }

    [Fact]
    public void A_map_of_trainable_tokens_on_an_untied_model_writes_the_heads_own_rows()
    {
        var model = Model("untied", new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = false });
        var config = ModelConfigReader.ReadFolder(model);
        var adapter = Adapter("map", config, Projections[..1], """, "trainable_token_indices": {"embed_tokens": [4], "lm_head": [5, 6]}""",
            [new("base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta", full(1, 64, 0.5f)),
             new("base_model.model.lm_head.token_adapter.trainable_tokens_delta", full(2, 64, -0.5f))]);
        var output = Path.Combine(_dir, "merged-map");

        var result = AdapterMerge.Run(new AdapterMergeRequest(model, [adapter], output));

        Assert.Equal(new[] { "lm_head.weight", "model.embed_tokens.weight" }, result.Changes.Select(c => c.Tensor).Order(StringComparer.Ordinal));
        using var scope = NewDisposeScope();
        using var merged = Checkpoint.OpenFolder(output);
        Assert.True(merged.Load("model.embed_tokens.weight")[4].eq(0.5f).all().item<bool>());
        Assert.True(merged.Load("lm_head.weight").index_select(0, tensor(new long[] { 5, 6 })).eq(-0.5f).all().item<bool>());
        using var original = Checkpoint.OpenFolder(model);
        Assert.True(merged.Load("lm_head.weight")[4].eq(original.Load("lm_head.weight")[4]).all().item<bool>());
    }

    [Fact]
    public void A_tied_checkpoint_that_stores_its_head_gets_the_token_rows_and_a_saved_embedding_in_both_copies()
    {
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
        var config = ModelConfigReader.ReadFolder(model);
        var rowsAdapter = Adapter("rows", config, Projections[..1], """, "trainable_token_indices": [5]""",
            [new("base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta", full(1, 64, 0.25f))]);
        var rowsResult = AdapterMerge.Run(new AdapterMergeRequest(model, [rowsAdapter], Path.Combine(_dir, "out-rows")));
        Assert.Equal(new[] { "model.embed_tokens.weight", "lm_head.weight" }, rowsResult.Changes.Select(c => c.Tensor));
        var after = AllTensors(Path.Combine(_dir, "out-rows"));
        Assert.Equal(after["model.embed_tokens.weight"], after["lm_head.weight"]);

        using var scope2 = NewDisposeScope();
        var saved = randn(128, 64);
        var savedAdapter = Adapter("saved", config, Projections[..1], """, "modules_to_save": ["embed_tokens"]""",
            [new("base_model.model.model.embed_tokens.weight", saved)]);
        var savedResult = AdapterMerge.Run(new AdapterMergeRequest(model, [savedAdapter], Path.Combine(_dir, "out-saved")));
        Assert.Contains(savedResult.Tensors, t => t.Tensor == "lm_head.weight" && t.Change.Contains("saved module"));
        using var merged = Checkpoint.OpenFolder(Path.Combine(_dir, "out-saved"));
        Assert.True(merged.Load("model.embed_tokens.weight").eq(saved).all().item<bool>());
        Assert.True(merged.Load("lm_head.weight").eq(saved).all().item<bool>());
    }

    [Fact]
    public void A_module_in_modules_to_save_replaces_its_weight_cast_to_the_stored_dtype()
    {
        var model = Model("untied-bf16", new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = false, Dtype = "bfloat16" });
        var config = ModelConfigReader.ReadFolder(model);
        using var scope = NewDisposeScope();
        var head = randn(128, 64);
        var adapter = Adapter("head", config, Projections, """, "modules_to_save": ["lm_head"]""", [new("base_model.model.lm_head.weight", head)]);
        var output = Path.Combine(_dir, "merged-head");
        AdapterMerge.Run(new AdapterMergeRequest(model, [adapter], output));
        using var merged = Checkpoint.OpenFolder(output);
        Assert.True(merged.Load("lm_head.weight").eq(head.to(ScalarType.BFloat16)).all().item<bool>());
        Assert.Equal(AllTensors(model)["model.embed_tokens.weight"], AllTensors(output)["model.embed_tokens.weight"]);
    }

    [Fact]
    public void Sharded_models_keep_their_index_and_are_patched_in_the_shards_that_hold_the_targets()
    {
        var model = Model("sharded", new TinyModelSpec { ModelType = "llama", MaxShardBytes = 40_000 });
        var config = ModelConfigReader.ReadFolder(model);
        var adapter = Adapter("a", config, Projections);
        var output = Path.Combine(_dir, "merged-sharded");
        var result = AdapterMerge.Run(new AdapterMergeRequest(model, [adapter], output));
        Assert.True(result.Tensors.Select(t => Path.GetFileName(t.File)).Distinct().Count() > 1, "the targets must lie in more than one shard for the test to mean anything");
        Assert.Equal(File.ReadAllBytes(Path.Combine(model, Checkpoint.IndexFileName)), File.ReadAllBytes(Path.Combine(output, Checkpoint.IndexFileName)));
        Assert.Equal(Directory.GetFiles(model).Select(Path.GetFileName).Where(n => n != AtomicFolder.MarkerFileName).Order(),
            Directory.GetFiles(output).Select(Path.GetFileName).Where(n => n != AtomicFolder.MarkerFileName).Order());
        var before = AllTensors(model);
        var after = AllTensors(output);
        foreach (var name in before.Keys)
            if (Projections.Contains(name[..name.LastIndexOf('.')])) Assert.NotEqual(before[name], after[name]);
            else Assert.Equal(before[name], after[name]);
    }

    [Fact]
    public void Tensors_are_computed_and_written_one_at_a_time_and_nothing_accumulates()
    {
        var model = Model("m", new TinyModelSpec { ModelType = "llama" });
        var config = ModelConfigReader.ReadFolder(model);
        var all = ModelLoader.ExpectedWeights(config).Select(w => w.Name[..^".weight".Length])
            .Where(p => p.EndsWith("q_proj", StringComparison.Ordinal) || p.EndsWith("v_proj", StringComparison.Ordinal) || p.EndsWith("down_proj", StringComparison.Ordinal)).ToList();
        var adapter = Adapter("a", config, all);
        var live = new List<(string Tensor, long Live)>();
        var stats = DisposeScopeManager.Statistics;
        AdapterMerge.Run(new AdapterMergeRequest(model, [adapter], Path.Combine(_dir, "out")) { OnTensorWritten = t => live.Add((t, stats.ThreadTotalLiveCount)) });
        Assert.Equal(all.Count, live.Count);
        // Each tensor's native memory (the weight, its float32 copy, the delta, the result) is freed before the next is read.
        Assert.All(live, l => Assert.Equal(live[0].Live, l.Live));
    }

    [Fact]
    public void Safe_merge_refuses_a_result_that_is_not_finite_and_writes_nothing()
    {
        var model = Model("m", new TinyModelSpec { ModelType = "llama" });
        var config = ModelConfigReader.ReadFolder(model);
        // Finite pairs whose product overflows float32: only the merged weight shows it.
        var adapter = Adapter("overflow", config, Projections, editB: (path, b) => path.EndsWith("q_proj", StringComparison.Ordinal) ? full_like(b, 3e38) : b);
        var output = Path.Combine(_dir, "out-safe");
        var e = Assert.Throws<InvalidAdapterException>(() => AdapterMerge.Run(new AdapterMergeRequest(model, [adapter], output) { SafeMerge = true }));
        Assert.Contains("model.layers.0.self_attn.q_proj.weight", e.Message);
        Assert.Contains("nothing was written", e.Message);
        Assert.False(Directory.Exists(output));
        Assert.Equal(new[] { "m", "overflow" }, Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Order());

        // Without -SafeMerge PEFT writes the infinite values, and so does this.
        AdapterMerge.Run(new AdapterMergeRequest(model, [adapter], output));
        using var merged = Checkpoint.OpenFolder(output);
        using var v = merged.Load("model.layers.0.self_attn.q_proj.weight");
        Assert.False(v.isfinite().all().item<bool>());
    }

    [Fact]
    public void Safe_merge_refuses_NaN_in_a_pair_while_planning()
    {
        var model = Model("m", new TinyModelSpec { ModelType = "llama" });
        var config = ModelConfigReader.ReadFolder(model);
        var adapter = Adapter("nan", config, Projections, editB: (path, b) => path.EndsWith("q_proj", StringComparison.Ordinal) ? b.index_fill(0, tensor(new long[] { 0 }), double.NaN) : b);
        var e = Assert.Throws<InvalidAdapterException>(() => AdapterMerge.Plan(new AdapterMergeRequest(model, [adapter], Path.Combine(_dir, "out")) { SafeMerge = true }));
        Assert.Contains("q_proj.lora_B.weight", e.Message);
    }

    [Fact]
    public void An_adapter_for_another_architecture_is_refused_naming_the_module()
    {
        var model = Model("gpt2", new TinyModelSpec { ModelType = "gpt2" });
        var llama = ModelConfigReader.ReadFolder(Model("llama", new TinyModelSpec { ModelType = "llama" }));
        var adapter = Adapter("a", llama, Projections);
        var e = Assert.Throws<InvalidAdapterException>(() => AdapterMerge.Plan(new AdapterMergeRequest(model, [adapter], Path.Combine(_dir, "out"))));
        Assert.True(e.Message.Contains("has no 'model.layers.0.") && e.Message.Contains("another architecture"), e.Message);
    }

    [Fact]
    public void Pairs_that_target_modules_does_not_name_and_unknown_tensors_are_refused()
    {
        var model = Model("m", new TinyModelSpec { ModelType = "llama" });
        var config = ModelConfigReader.ReadFolder(model);
        var unnamed = Adapter("unnamed", config, Projections.Append("model.layers.0.mlp.up_proj").ToList());
        var e = Assert.Throws<InvalidAdapterException>(() => AdapterMerge.Plan(new AdapterMergeRequest(model, [unnamed], Path.Combine(_dir, "out"))));
        Assert.Contains("model.layers.0.mlp.up_proj", e.Message);
        Assert.Contains("target_modules", e.Message);

        using var scope = NewDisposeScope();
        var stray = Adapter("stray", config, Projections, extraTensors: [new("base_model.model.model.norm.weight", ones(64))]);
        var s = Assert.Throws<InvalidAdapterException>(() => AdapterMerge.Plan(new AdapterMergeRequest(model, [stray], Path.Combine(_dir, "out"))));
        Assert.Contains("base_model.model.model.norm.weight", s.Message);
        Assert.Contains("modules_to_save", s.Message);
    }

    [Fact]
    public void A_rank_that_does_not_match_the_config_is_refused()
    {
        var model = Model("m", new TinyModelSpec { ModelType = "llama" });
        var config = ModelConfigReader.ReadFolder(model);
        var adapter = Adapter("a", config, Projections);
        var text = File.ReadAllText(Path.Combine(adapter, "adapter_config.json")).Replace("\"r\": 4", "\"r\": 8");
        File.WriteAllText(Path.Combine(adapter, "adapter_config.json"), text);
        var e = Assert.Throws<InvalidAdapterException>(() => AdapterMerge.Plan(new AdapterMergeRequest(model, [adapter], Path.Combine(_dir, "out"))));
        Assert.Contains("rank 8", e.Message);
    }

    [Fact]
    public void A_lora_adapter_and_a_trainable_tokens_adapter_merge_together()
    {
        var model = Model("m", new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true });
        var config = ModelConfigReader.ReadFolder(model);
        var lora = Adapter("lora", config, Projections);
        var tokens = Path.Combine(_dir, "tokens");
        Directory.CreateDirectory(tokens);
        File.WriteAllText(Path.Combine(tokens, "adapter_config.json"), """{"peft_type": "TRAINABLE_TOKENS", "token_indices": [9], "target_modules": "model.embed_tokens"}""");
        using (var scope = NewDisposeScope())
            SafetensorsWriter.Write(Path.Combine(tokens, "adapter_model.safetensors"), [new(AdapterFolder.KeyFor("model.embed_tokens"), full(1, 64, 0.125f))], new Dictionary<string, string> { ["format"] = "pt" });
        var result = AdapterMerge.Run(new AdapterMergeRequest(model, [lora, tokens], Path.Combine(_dir, "out")));
        Assert.Equal("model.embed_tokens.weight", Assert.Single(result.Changes).Tensor);
        Assert.Equal(3, result.Tensors.Count);
        Assert.All(result.Tensors, t => Assert.Equal(new[] { "lora" }, t.Adapters));
    }
    [Fact]
    public void A_saved_head_on_a_tied_model_is_refused_because_it_would_change_the_embedding()
    {
        var model = Model("tied", new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true });
        var config = ModelConfigReader.ReadFolder(model);
        using var scope = NewDisposeScope();
        var adapter = Adapter("head", config, Projections, """, "modules_to_save": ["lm_head"]""", [new("base_model.model.lm_head.weight", randn(128, 64))]);
        var e = Assert.Throws<InvalidAdapterException>(() => AdapterMerge.Plan(new AdapterMergeRequest(model, [adapter], Path.Combine(_dir, "out"))));
        Assert.Contains("ties its LM head", e.Message);
    }
}
