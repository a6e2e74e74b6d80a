using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TorchSharp;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Runtime;

namespace TrainableTokens.Core.Tests.IO;

public sealed class CheckpointTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public CheckpointTests() => TorchRuntime.EnsureLoaded();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Sharded_write_and_read_round_trip_with_the_index()
    {
        using var tensors = new TensorSet(("embed", 40), ("layer.0", 24), ("layer.1", 24), ("norm", 4), ("head", 40));
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };

        // 4 bytes per element: 160 | 96 + 96 | 16 + 160 over 256-byte shards -> [embed, layer.0] [layer.1, norm] [head].
        SafetensorsWriter.WriteSharded(_folder.Path, tensors.Pairs, maxShardBytes: 256, metadata);

        Assert.Equal(
            ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors", "model.safetensors.index.json"],
            Directory.GetFiles(_folder.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var checkpoint = Checkpoint.OpenFolder(_folder.Path);
        Assert.Equal(3, checkpoint.Files.Count);
        Assert.Equal(tensors.Names.Order(StringComparer.Ordinal), checkpoint.Names);
        foreach (var (name, tensor) in tensors.Pairs)
        {
            using var loaded = checkpoint.Load(name);
            Assert.Equal(tensor.data<float>().ToArray(), loaded.data<float>().ToArray());
        }
        Assert.EndsWith("model-00001-of-00003.safetensors", checkpoint.Info("layer.0").File);
        Assert.EndsWith("model-00002-of-00003.safetensors", checkpoint.Info("norm").File);
        using var shard = SafetensorsFile.Open(checkpoint.Files[2]);
        Assert.Equal("pt", shard.Metadata["format"]);
    }

    [Fact]
    public void Index_is_written_as_transformers_writes_it()
    {
        using var tensors = new TensorSet(("b", 4), ("a", 4));

        SafetensorsWriter.WriteSharded(_folder.Path, tensors.Pairs, maxShardBytes: 16);

        Assert.Equal(
            "{\n  \"metadata\": {\n    \"total_size\": 32\n  },\n  \"weight_map\": {\n" +
            "    \"a\": \"model-00002-of-00002.safetensors\",\n    \"b\": \"model-00001-of-00002.safetensors\"\n  }\n}\n",
            File.ReadAllText(_folder.File(Checkpoint.IndexFileName)));
    }

    [Fact]
    public void Everything_in_one_shard_writes_model_safetensors_and_no_index()
    {
        using var tensors = new TensorSet(("a", 4), ("b", 4));

        SafetensorsWriter.WriteSharded(_folder.Path, tensors.Pairs, maxShardBytes: 32);

        Assert.Equal([_folder.File("model.safetensors")], Directory.GetFiles(_folder.Path));
        using var checkpoint = Checkpoint.OpenFolder(_folder.Path);
        Assert.Equal(["a", "b"], checkpoint.Names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_tensor_larger_than_the_shard_limit_gets_a_shard_of_its_own()
    {
        using var tensors = new TensorSet(("small", 2), ("huge", 100), ("tail", 2));

        SafetensorsWriter.WriteSharded(_folder.Path, tensors.Pairs, maxShardBytes: 64);

        using var checkpoint = Checkpoint.OpenFolder(_folder.Path);
        Assert.Equal(3, checkpoint.Files.Count);
        Assert.EndsWith("model-00002-of-00003.safetensors", checkpoint.Info("huge").File);
    }

    [Fact]
    public void Rewriting_with_another_layout_removes_the_old_weight_files()
    {
        using var tensors = new TensorSet(("a", 8), ("b", 8), ("c", 8));
        var unrelated = _folder.File("config.json");
        File.WriteAllText(unrelated, "{}");

        SafetensorsWriter.WriteSharded(_folder.Path, tensors.Pairs, maxShardBytes: 32);
        Assert.Equal(4, Directory.GetFiles(_folder.Path, "model*").Length);
        SafetensorsWriter.WriteSharded(_folder.Path, tensors.Pairs, maxShardBytes: 1 << 20);
        Assert.Equal([_folder.File("model.safetensors")], Directory.GetFiles(_folder.Path, "model*"));
        SafetensorsWriter.WriteSharded(_folder.Path, tensors.Pairs, maxShardBytes: 64);
        Assert.Equal(
            ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"],
            Directory.GetFiles(_folder.Path, "model*").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.True(File.Exists(unrelated));
    }

    [Fact]
    public void Single_file_is_preferred_over_an_index()
    {
        using var tensors = new TensorSet(("a", 2));
        SafetensorsWriter.Write(_folder.File("model.safetensors"), tensors.Pairs);
        File.WriteAllText(_folder.File(Checkpoint.IndexFileName), "not even json");

        using var checkpoint = Checkpoint.OpenFolder(_folder.Path);
        Assert.Equal([_folder.File("model.safetensors")], checkpoint.Files);
    }

    [Fact]
    public void Open_file_reads_any_safetensors_file_as_a_checkpoint()
    {
        using var tensors = new TensorSet(("x", 3));
        var path = _folder.File("adapter_model.safetensors");
        SafetensorsWriter.Write(path, tensors.Pairs);

        using var checkpoint = Checkpoint.OpenFile(path);
        Assert.True(checkpoint.Contains("x"));
        Assert.False(checkpoint.Contains("y"));
        var error = Assert.Throws<InvalidSafetensorsException>(() => checkpoint.Load("y"));
        Assert.Contains(path, error.Message);
        Assert.Contains("no tensor 'y'", error.Message);
    }

    [Fact]
    public void Folder_with_only_pickle_weights_gets_an_error_that_says_how_to_convert()
    {
        File.WriteAllBytes(_folder.File("pytorch_model.bin"), [0x80, 0x02]);
        var error = Assert.Throws<InvalidSafetensorsException>(() => Checkpoint.OpenFolder(_folder.Path));
        Assert.Contains("pytorch_model.bin", error.Message);
        Assert.Contains("never read", error.Message);
        Assert.Contains("safe_serialization=True", error.Message);
        Assert.Equal(_folder.Path, error.Target);
    }

    [Fact]
    public void Folder_without_weights_or_that_does_not_exist_is_refused()
    {
        var empty = Assert.Throws<InvalidSafetensorsException>(() => Checkpoint.OpenFolder(_folder.Path));
        Assert.Contains("has no model.safetensors and no model.safetensors.index.json", empty.Message);
        var missing = Assert.Throws<InvalidSafetensorsException>(() => Checkpoint.OpenFolder(_folder.File("nope")));
        Assert.Contains("does not exist", missing.Message);
    }

    [Theory]
    [InlineData("{\"weight_map\":", "not valid JSON")]
    [InlineData("[]", "has no \"weight_map\" object")]
    [InlineData("{\"metadata\":{}}", "has no \"weight_map\" object")]
    [InlineData("{\"weight_map\":[]}", "\"weight_map\" is not an object")]
    [InlineData("{\"weight_map\":{}}", "lists no tensors")]
    [InlineData("{\"weight_map\":{\"a\":1}}", "tensor 'a' maps to a JSON number")]
    [InlineData("{\"weight_map\":{\"a\":\"../model.safetensors\"}}", "tensor 'a' maps to '../model.safetensors', which is not a file name")]
    [InlineData("{\"weight_map\":{\"a\":\"/etc/passwd\"}}", "which is not a file name")]
    [InlineData("{\"weight_map\":{\"a\":\"s.safetensors\",\"a\":\"s.safetensors\"}}", "tensor 'a' is listed twice")]
    public void Malformed_index_is_refused(string index, string problem)
    {
        var path = _folder.File(Checkpoint.IndexFileName);
        File.WriteAllText(path, index);
        var error = Assert.Throws<InvalidSafetensorsException>(() => Checkpoint.OpenFolder(_folder.Path));
        Assert.Contains($"index '{path}'", error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void Index_pointing_at_a_missing_shard_names_the_tensor_and_the_shard()
    {
        using var tensors = new TensorSet(("a", 8), ("b", 8));
        SafetensorsWriter.WriteSharded(_folder.Path, tensors.Pairs, maxShardBytes: 32);
        File.Delete(_folder.File("model-00002-of-00002.safetensors"));

        var error = Assert.Throws<InvalidSafetensorsException>(() => Checkpoint.OpenFolder(_folder.Path));
        Assert.Contains("tensor 'b'", error.Message);
        Assert.Contains("shard 'model-00002-of-00002.safetensors'", error.Message);
        Assert.Contains("does not exist", error.Message);
    }

    [Fact]
    public void Tensor_listed_in_the_index_but_missing_from_its_shard_is_refused()
    {
        using var tensors = new TensorSet(("a", 8), ("b", 8));
        SafetensorsWriter.WriteSharded(_folder.Path, tensors.Pairs, maxShardBytes: 32);
        var index = _folder.File(Checkpoint.IndexFileName);
        File.WriteAllText(index, File.ReadAllText(index).Replace("\"b\": \"model-00002", "\"b\": \"model-00001"));

        var error = Assert.Throws<InvalidSafetensorsException>(() => Checkpoint.OpenFolder(_folder.Path));
        Assert.Contains("maps tensor 'b' to shard 'model-00001-of-00002.safetensors', but that shard has no such tensor", error.Message);
    }

    [Fact]
    public void A_damaged_shard_fails_the_whole_checkpoint_with_the_shard_named()
    {
        using var tensors = new TensorSet(("a", 8), ("b", 8));
        SafetensorsWriter.WriteSharded(_folder.Path, tensors.Pairs, maxShardBytes: 32);
        var shard = _folder.File("model-00002-of-00002.safetensors");
        var bytes = File.ReadAllBytes(shard);
        File.WriteAllBytes(shard, bytes[..^4]);

        var error = Assert.Throws<InvalidSafetensorsException>(() => Checkpoint.OpenFolder(_folder.Path));
        Assert.Contains(shard, error.Message);
        Assert.Contains("truncated", error.Message);
    }

    /// <summary>Named float tensors with distinct values, disposed together.</summary>
    private sealed class TensorSet : IDisposable
    {
        private readonly List<KeyValuePair<string, torch.Tensor>> _pairs = new();

        public TensorSet(params (string Name, int Count)[] specs)
        {
            var start = 0;
            foreach (var (name, count) in specs)
            {
                _pairs.Add(new(name, torch.arange(start, start + count, dtype: torch.ScalarType.Float32)));
                start += count;
            }
        }

        public IReadOnlyList<KeyValuePair<string, torch.Tensor>> Pairs => _pairs;
        public IEnumerable<string> Names => _pairs.Select(p => p.Key);

        public void Dispose()
        {
            foreach (var pair in _pairs) pair.Value.Dispose();
        }
    }
}
