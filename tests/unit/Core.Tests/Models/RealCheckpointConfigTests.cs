using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using TorchSharp;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Preflight;

namespace TrainableTokens.Core.Tests.Models;

/// <summary>
/// The config.json files of released checkpoints (tests/fixtures/configs, written from their published values; sources
/// in that folder's SOURCES.md). A supported one parses, gives the published parameter count and passes the preflight's
/// model checks against a checkpoint of the right shapes; an unsupported one is refused by its model_type before any
/// weight is read, with the supported ones listed.
/// </summary>
public sealed class RealCheckpointConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-real-configs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Fixtures => Path.Combine(Examples.Root, "tests", "fixtures", "configs");

    /// <summary>Parameter counts the checkpoints' model cards publish (the Hub's safetensors total), for the families this
    /// engine runs; SOURCES.md says where each was read.</summary>
    private static readonly Dictionary<string, long> Published = new()
    {
        ["llama-3.1-8b"] = 8_030_261_248,
        ["llama-3.2-1b"] = 1_235_814_400,
        ["llama-3.2-3b"] = 3_212_749_824,
        ["mistral-7b-v0.3"] = 7_248_023_552,
        ["qwen2.5-7b"] = 7_615_616_512,
        ["gemma-7b"] = 8_537_680_896,
        ["qwen3-0.6b"] = 751_632_384,
        ["qwen3-8b"] = 8_190_735_360,
        ["qwen3-32b"] = 32_762_123_264,
        ["gemma-2-2b"] = 2_614_341_888,
        ["gemma-2-9b"] = 9_241_705_984,
        ["gemma-3-1b"] = 999_885_952,
        ["gemma-3-4b"] = 4_300_079_472,
        ["gemma-3-27b"] = 27_432_406_640,
        ["phi-3.5-mini"] = 3_821_079_552,
        ["phi-4-mini"] = 3_836_021_760,
        ["smollm3-3b"] = 3_075_098_624,
        ["olmo-2-7b"] = 7_298_617_344,
    };

    /// <summary>What a published total counts that the text model does not load: Qwen3-0.6B's files store its tied head a
    /// second time; a Gemma 3 total includes the SigLIP tower and the projector (PublishedParameterCountTests splits them).</summary>
    private static readonly Dictionary<string, long> NotLoaded = new()
    {
        ["qwen3-0.6b"] = 151_936L * 1024,
        ["gemma-3-4b"] = 416_866_032 + 2_950_272,
        ["gemma-3-27b"] = 416_866_032 + 6_194_304,
    };

    private static long Loaded(string name) => Published[name] - NotLoaded.GetValueOrDefault(name);

    /// <summary>Fixtures whose architecture this version refuses, with the model_type config.json gives.</summary>
    private static readonly Dictionary<string, string> Refused = new()
    {
        ["mixtral-8x7b"] = "mixtral",
    };

    public static TheoryData<string> SupportedFixtures() => new(Published.Keys);

    public static TheoryData<string> RefusedFixtures() => new(Refused.Keys);

    private static string ConfigOf(string name) => Path.Combine(Fixtures, name, ModelConfigReader.FileName);

    private static ModelConfig Parse(string name) => ModelConfigReader.ReadFolder(Path.Combine(Fixtures, name));

    [Fact]
    public void Every_fixture_is_checked_and_each_list_matches_what_this_version_supports()
    {
        var folders = Directory.GetDirectories(Fixtures).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal).ToList();
        Assert.Equal(Published.Keys.Concat(Refused.Keys).OrderBy(n => n, StringComparer.Ordinal), folders);
        foreach (var (name, type) in Refused)
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(ConfigOf(name)));
            Assert.Equal(type, doc.RootElement.GetProperty("model_type").GetString());
            // When an architecture lands, its fixtures move to Published with the count their model card gives.
            Assert.False(ModelArchitectures.IsSupported(type), $"{name} ({type}) is supported now: move it to Published with its published parameter count.");
        }
    }

    [Theory]
    [MemberData(nameof(SupportedFixtures))]
    public void A_supported_checkpoint_has_its_published_parameter_count(string name)
    {
        var config = Parse(name);

        var count = ModelLoader.ExpectedWeights(config).Sum(w => w.Shape.Aggregate(1L, (a, d) => a * d));

        Assert.Equal(Loaded(name), count);
    }

    [Fact]
    public void Llama_3_1_8b_reads_as_published_and_has_the_weight_shapes_of_its_checkpoint()
    {
        var c = Parse("llama-3.1-8b");

        Assert.Equal(("llama", 128256, 4096, 14336, 32, 32, 8, 128), (c.ModelType, c.VocabSize, c.HiddenSize, c.IntermediateSize, c.NumLayers, c.NumHeads, c.NumKeyValueHeads, c.HeadDim));
        Assert.False(c.TieWordEmbeddings);
        Assert.Equal(new RopeParameters { Type = "llama3", Theta = 500000, Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositions = 8192 }, c.Rope);
        Assert.Equal(1e-5, c.NormEpsilon);
        Assert.Equal("bfloat16", c.TorchDtype);
        var shapes = ModelLoader.ExpectedWeights(c).ToDictionary(w => w.Name, w => w.Shape);
        Assert.Equal(2 + 32 * 9 + 1, shapes.Count);
        Assert.Equal(new long[] { 128256, 4096 }, shapes["model.embed_tokens.weight"]);
        Assert.Equal(new long[] { 4096, 4096 }, shapes["model.layers.31.self_attn.q_proj.weight"]);
        Assert.Equal(new long[] { 1024, 4096 }, shapes["model.layers.31.self_attn.k_proj.weight"]);
        Assert.Equal(new long[] { 1024, 4096 }, shapes["model.layers.31.self_attn.v_proj.weight"]);
        Assert.Equal(new long[] { 4096, 4096 }, shapes["model.layers.31.self_attn.o_proj.weight"]);
        Assert.Equal(new long[] { 14336, 4096 }, shapes["model.layers.31.mlp.gate_proj.weight"]);
        Assert.Equal(new long[] { 4096, 14336 }, shapes["model.layers.31.mlp.down_proj.weight"]);
        Assert.Equal(new long[] { 128256, 4096 }, shapes["lm_head.weight"]);
    }

    [Fact]
    public void The_other_supported_checkpoints_read_their_family_specifics()
    {
        var small = Parse("llama-3.2-1b");
        Assert.True(small.TieWordEmbeddings);
        Assert.Equal(64, small.HeadDim);
        Assert.Equal(new RopeParameters { Type = "llama3", Theta = 500000, Factor = 32, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositions = 8192 }, small.Rope);
        Assert.DoesNotContain(ModelLoader.ExpectedWeights(small), w => w.Name == "lm_head.weight");

        var mistral = Parse("mistral-7b-v0.3");
        Assert.Equal((32768, 128, 1_000_000.0), (mistral.VocabSize, mistral.HeadDim, mistral.Rope.Theta));
        Assert.All(mistral.SlidingWindows, w => Assert.Null(w));

        var qwen = Parse("qwen2.5-7b");
        Assert.True(qwen.QkvBias);
        Assert.False(qwen.OutputBias);
        // use_sliding_window is false, so sliding_window (131072) applies to no layer.
        Assert.All(qwen.SlidingWindows, w => Assert.Null(w));
        Assert.Contains(ModelLoader.ExpectedWeights(qwen), w => w.Name == "model.layers.27.self_attn.k_proj.bias" && w.Shape.SequenceEqual(new long[] { 512 }));

        var gemma = Parse("gemma-7b");
        // head_dim 256 x 16 heads is 4096, wider than hidden_size 3072, as published.
        Assert.Equal((256, 16, 3072), (gemma.HeadDim, gemma.NumHeads, gemma.HiddenSize));
        Assert.Equal("gelu_pytorch_tanh", gemma.HiddenActivation);
        Assert.True(gemma.TieWordEmbeddings);
        Assert.Contains(ModelLoader.ExpectedWeights(gemma), w => w.Name == "model.layers.0.self_attn.q_proj.weight" && w.Shape.SequenceEqual(new long[] { 4096, 3072 }));
    }

    [Theory]
    [MemberData(nameof(SupportedFixtures))]
    public void A_supported_checkpoint_passes_the_preflights_model_checks(string name)
    {
        var folder = HeaderOnlyFolder(name, ConfigOf(name));
        var config = ModelConfigReader.ReadFolder(folder);
        using (var checkpoint = Checkpoint.OpenFolder(folder))
        {
            var tokens = ConfigValidator.At(null, "run.yaml");
            TargetModuleCheck.Check(null, config, checkpoint.Names.ToList(), tokens);
            Assert.Empty(tokens.Findings);
        }

        Assert.Null(ModelLoader.WhyNotLoadable(folder, torch.ScalarType.BFloat16, "cpu", -1, availableBytes: long.MaxValue));
        // Memory the preflight asks for in bfloat16, stored bfloat16: the weights once, two bytes a parameter.
        var tooLittle = Assert.IsType<NotEnoughMemoryException>(ModelLoader.WhyNotLoadable(folder, torch.ScalarType.BFloat16, "cpu", -1, availableBytes: 1L << 30));
        Assert.Equal(2 * Loaded(name), tooLittle.NeededBytes);
    }

    [Fact]
    public void Weights_of_another_size_are_refused_naming_the_file_the_tensor_and_both_shapes()
    {
        var folder = HeaderOnlyFolder("llama-3.2-1b", ConfigOf("llama-3.2-1b"));
        File.Copy(ConfigOf("llama-3.2-3b"), Path.Combine(folder, ModelConfigReader.FileName), overwrite: true);

        var error = ModelLoader.WhyNotLoadable(folder, torch.ScalarType.BFloat16, "cpu", -1, availableBytes: long.MaxValue);

        var e = Assert.IsType<InvalidModelFolderException>(error);
        Assert.Contains("model-00001-of-00001.safetensors", e.Message);
        Assert.Contains("'model.embed_tokens.weight' has shape [128256, 2048], but config.json implies [128256, 3072]", e.Message);
    }

    [Theory]
    [MemberData(nameof(RefusedFixtures))]
    public void An_unsupported_checkpoint_is_refused_by_model_type_before_any_weight_is_read(string name)
    {
        var folder = Path.Combine(_dir, name);
        Directory.CreateDirectory(folder);
        File.Copy(ConfigOf(name), Path.Combine(folder, ModelConfigReader.FileName));
        // Not a safetensors file: reading it would be a different error.
        File.WriteAllText(Path.Combine(folder, "model.safetensors"), "not weights");

        var error = Assert.IsType<InvalidModelFolderException>(ModelLoader.WhyNotLoadable(folder, torch.ScalarType.BFloat16, "cpu", -1, availableBytes: long.MaxValue));
        var load = Assert.Throws<InvalidModelFolderException>(() => ModelLoader.Load(folder, torch.ScalarType.BFloat16));

        foreach (var message in new[] { error.Message, load.Message })
        {
            Assert.Contains(Path.Combine(folder, "config.json"), message);
            Assert.Contains($"model_type '{Refused[name]}'", message);
            Assert.Contains("is not supported, so nothing was loaded", message);
            Assert.Contains("Supported model_type values: " + string.Join(", ", ModelArchitectures.Supported) + ".", message);
        }
    }

    [Fact]
    public void The_refusal_names_the_architecture_class_too()
    {
        var error = Assert.Throws<InvalidModelFolderException>(() => ModelConfigReader.ReadFolder(Path.Combine(Fixtures, "mixtral-8x7b")));

        Assert.Contains("model_type 'mixtral' (MixtralForCausalLM) is not supported", error.Message);
    }

    [Theory]
    [InlineData("yarn", "rope_type")]
    [InlineData("dynamic", "type")]
    public void Qwen2_5s_long_context_rope_scaling_is_read(string ropeType, string key)
    {
        // Qwen2.5's model card gives this rope_scaling (yarn) for contexts past 32768 tokens; dynamic is the older advice.
        var c = ParseEdited("qwen2.5-7b", root => root["rope_scaling"] = new Dictionary<string, object>
        {
            [key] = ropeType, ["factor"] = 4.0, ["original_max_position_embeddings"] = 32768,
        });

        Assert.Equal(ropeType, c.Rope.Type);
        Assert.Equal(4.0, c.Rope.Factor);
        Assert.Equal(1_000_000.0, c.Rope.Theta);
        // dynamic scales against max_position_embeddings, as transformers does: the block's original is not kept.
        Assert.Equal(ropeType == "yarn" ? 32768 : null, c.Rope.OriginalMaxPositions);
    }

    [Theory]
    [InlineData("ntk", "rope_type", "rope_scaling")]
    [InlineData("su", "type", "rope_scaling")]
    [InlineData("mrope", "rope_type", "rope_parameters")]
    public void A_rope_type_we_do_not_implement_is_refused_naming_the_field_and_the_supported_types(string ropeType, string key, string block)
    {
        var error = ReadEdited("llama-3.1-8b", root =>
        {
            root.Remove("rope_scaling");
            root[block] = new Dictionary<string, object> { [key] = ropeType, ["rope_theta"] = 500000.0, ["factor"] = 8.0 };
        });

        Assert.Contains("config.json", error.Message);
        Assert.Contains($"{block}.{key} is '{ropeType}', a rope type this engine does not implement", error.Message);
        Assert.Contains("Supported: default, linear, dynamic, llama3, yarn, longrope.", error.Message);
    }

    [Fact]
    public void Llama3_rope_scaling_without_its_frequency_factors_is_refused_naming_the_field()
    {
        var error = ReadEdited("llama-3.1-8b", root => root["rope_scaling"] = new Dictionary<string, object>
        {
            ["rope_type"] = "llama3", ["factor"] = 8.0, ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 8192,
        });

        Assert.Contains("has no 'rope_scaling.low_freq_factor'", error.Message);
    }

    [Fact]
    public void Llama3_frequency_factors_in_the_wrong_order_are_refused()
    {
        var error = ReadEdited("llama-3.2-3b", root => root["rope_scaling"] = new Dictionary<string, object>
        {
            ["rope_type"] = "llama3", ["factor"] = 32.0, ["low_freq_factor"] = 4.0, ["high_freq_factor"] = 1.0, ["original_max_position_embeddings"] = 8192,
        });

        Assert.Contains("rope_scaling.high_freq_factor is 1; it must be greater than low_freq_factor (4)", error.Message);
    }

    [Fact]
    public void A_hidden_size_the_heads_do_not_divide_without_head_dim_is_refused()
    {
        var error = ReadEdited("mistral-7b-v0.3", root => root["num_attention_heads"] = 30);

        Assert.Contains("config.json': hidden_size is 4096, which num_attention_heads (30) does not divide, and there is no head_dim", error.Message);
    }

    [Fact]
    public void Key_value_heads_that_do_not_divide_the_heads_are_refused_on_a_real_config()
    {
        var error = ReadEdited("llama-3.1-8b", root => root["num_key_value_heads"] = 5);

        Assert.Contains("num_key_value_heads is 5; it must divide num_attention_heads (32)", error.Message);
    }

    [Fact]
    public void An_odd_head_dim_is_refused()
    {
        var error = ReadEdited("gemma-7b", root => root["head_dim"] = 255);

        Assert.Contains("head_dim is 255; it must be a positive even number", error.Message);
    }

    [Fact]
    public void Layer_types_of_the_wrong_length_are_refused()
    {
        var error = ReadEdited("mistral-7b-v0.3", root => root["layer_types"] = Enumerable.Repeat("full_attention", 31).ToArray());

        Assert.Contains("layer_types has 31 entries but num_hidden_layers is 32", error.Message);
    }

    /// <summary>The fixture's config.json changed by <paramref name="edit"/>, read from a folder of its own; the error it gives.</summary>
    private ModelConfig ParseEdited(string name, Action<Dictionary<string, object?>> edit)
    {
        var root = JsonSerializer.Deserialize<Dictionary<string, object?>>(File.ReadAllText(ConfigOf(name)))!;
        edit(root);
        var folder = Path.Combine(_dir, name + "-edited-ok");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, ModelConfigReader.FileName), JsonSerializer.Serialize(root));
        return ModelConfigReader.ReadFolder(folder);
    }

    private InvalidModelFolderException ReadEdited(string name, Action<Dictionary<string, object?>> edit)
    {
        var root = JsonSerializer.Deserialize<Dictionary<string, object?>>(File.ReadAllText(ConfigOf(name)))!;
        edit(root);
        var folder = Path.Combine(_dir, name + "-edited");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, ModelConfigReader.FileName), JsonSerializer.Serialize(root));
        return Assert.Throws<InvalidModelFolderException>(() => ModelConfigReader.ReadFolder(folder));
    }

    /// <summary>
    /// A model folder for <paramref name="configFile"/> whose bfloat16 checkpoint has real headers and no data: each shard
    /// (at most 5 GB, as save_pretrained writes them) is a sparse file of its full length, so it takes no disk space.
    /// </summary>
    /// <summary>
    /// The tensors the released checkpoint stores: for the architectures of issue 11 as PublishedCheckpointLayout
    /// (written apart from src/) lays them out from transformers' modeling files, hub names, stored tied head and vision
    /// tower included; for the others the engine's own list.
    /// </summary>
    private static IEnumerable<(string Name, long[] Shape)> StoredTensors(string name, ModelConfig config)
    {
        if (config.ModelType is "llama" or "mistral" or "qwen2" or "gemma" or "gpt2")
            return ModelLoader.ExpectedWeights(config).Select(w => (w.Name, w.Shape));
        using var doc = JsonDocument.Parse(File.ReadAllBytes(ConfigOf(name)));
        return PublishedCheckpointLayout.Of(doc.RootElement, storesTiedHead: NotLoaded.ContainsKey(name) && config.ModelType != "gemma3")
            .Select(t => (t.Name, t.Shape)).ToList();
    }

    [Theory]
    [MemberData(nameof(SupportedFixtures))]
    public void Every_weight_the_engine_reads_is_in_the_published_checkpoint_with_its_shape(string name)
    {
        var config = Parse(name);
        var stored = StoredTensors(name, config).ToDictionary(t => t.Name, t => t.Shape);

        var read = ModelLoader.ExpectedWeights(config).ToList();

        foreach (var w in read)
        {
            var storedName = stored.ContainsKey(w.Name) ? w.Name : ModelArchitectures.Spec(config.ModelType).StoredPrefixes
                .Where(p => w.Name.StartsWith(p.Module, StringComparison.Ordinal)).Select(p => p.Stored + w.Name[p.Module.Length..]).FirstOrDefault();
            Assert.True(storedName is not null && stored.ContainsKey(storedName), $"{name}: the checkpoint has no '{w.Name}'");
            Assert.Equal(stored[storedName!], w.Shape);
        }
        Assert.Equal(Loaded(name), read.Sum(w => w.Shape.Aggregate(1L, (a, d) => a * d)));
    }

    private string HeaderOnlyFolder(string name, string configFile)
    {
        var folder = Path.Combine(_dir, name);
        Directory.CreateDirectory(folder);
        File.Copy(configFile, Path.Combine(folder, ModelConfigReader.FileName));
        var config = ModelConfigReader.ReadFolder(folder);
        var shards = new List<List<(string Name, long[] Shape)>> { new() };
        long size = 0;
        foreach (var w in StoredTensors(name, config))
        {
            var bytes = 2 * w.Shape.Aggregate(1L, (a, d) => a * d);
            if (shards[^1].Count > 0 && size + bytes > 5_000_000_000) { shards.Add(new()); size = 0; }
            shards[^1].Add(w);
            size += bytes;
        }
        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        long total = 0;
        for (var i = 0; i < shards.Count; i++)
        {
            var file = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            var header = new Dictionary<string, object> { ["__metadata__"] = new Dictionary<string, string> { ["format"] = "pt" } };
            long offset = 0;
            foreach (var w in shards[i])
            {
                var bytes = 2 * w.Shape.Aggregate(1L, (a, d) => a * d);
                header[w.Name] = new Dictionary<string, object> { ["dtype"] = "BF16", ["shape"] = w.Shape, ["data_offsets"] = new[] { offset, offset + bytes } };
                offset += bytes;
                map[w.Name] = file;
            }
            total += offset;
            var json = JsonSerializer.SerializeToUtf8Bytes(header);
            var padded = (json.Length + 7) / 8 * 8;
            using var stream = new FileStream(Path.Combine(folder, file), FileMode.CreateNew, FileAccess.Write);
            stream.Write(BitConverter.GetBytes((ulong)padded));
            stream.Write(json);
            stream.Write(Enumerable.Repeat((byte)' ', padded - json.Length).ToArray());
            stream.SetLength(8 + padded + offset);
        }
        File.WriteAllText(Path.Combine(folder, Checkpoint.IndexFileName),
            JsonSerializer.Serialize(new Dictionary<string, object> { ["metadata"] = new Dictionary<string, long> { ["total_size"] = total }, ["weight_map"] = map }));
        return folder;
    }
}
