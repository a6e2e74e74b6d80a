using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Models;

/// <summary>What the loader checks before it allocates: weight dtypes, and the memory the weights need against what is free.</summary>
public sealed class ModelLoadLimitsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-load-limits-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Tiny(string name = "m")
    {
        var folder = Path.Combine(_dir, name);
        TinyModelFactory.Create(folder, new TinyModelSpec { ModelType = "llama", Seed = 1 });
        return folder;
    }

    /// <summary>Rewrites model.safetensors with <paramref name="name"/> stored as <paramref name="dtype"/>.</summary>
    private static void StoreAs(string folder, string name, ScalarType dtype)
    {
        var path = Path.Combine(folder, Checkpoint.SingleFileName);
        using var scope = NewDisposeScope();
        List<KeyValuePair<string, Tensor>> tensors;
        using (var file = SafetensorsFile.Open(path))
            tensors = file.Tensors.Select(t => new KeyValuePair<string, Tensor>(t.Name, t.Name == name ? file.Load(t.Name).to(dtype) : file.Load(t.Name))).ToList();
        SafetensorsWriter.Write(path, tensors);
    }

    [Theory]
    [InlineData(ScalarType.Int32, "I32")]
    [InlineData(ScalarType.Int64, "I64")]
    [InlineData(ScalarType.Byte, "U8")]
    [InlineData(ScalarType.Bool, "BOOL")]
    public void A_weight_stored_as_integers_or_booleans_is_refused_naming_tensor_and_file(ScalarType dtype, string header)
    {
        var folder = Tiny();
        StoreAs(folder, "model.layers.1.mlp.down_proj.weight", dtype);

        var error = Assert.Throws<InvalidModelFolderException>(() => ModelLoader.Load(folder));

        Assert.Contains("'model.layers.1.mlp.down_proj.weight' is stored as " + header, error.Message);
        Assert.Contains(Path.Combine(folder, "model.safetensors"), error.Message);
        Assert.Contains("F32, BF16 or F16", error.Message);
    }

    [Fact]
    public void Float_weights_of_any_float_dtype_still_load()
    {
        var folder = Tiny();
        StoreAs(folder, "model.norm.weight", ScalarType.Float64);
        StoreAs(folder, "model.layers.0.input_layernorm.weight", ScalarType.BFloat16);

        using var model = ModelLoader.Load(folder);

        Assert.Equal(ScalarType.Float32, model.Weights["model.norm.weight"].dtype);
    }

    [Fact]
    public void A_model_larger_than_the_free_memory_is_refused_before_loading()
    {
        var folder = Tiny();

        var error = Assert.Throws<NotEnoughMemoryException>(() => ModelLoader.Load(folder, ScalarType.Float32, null, availableBytes: 100_000));

        Assert.Equal("NotEnoughMemory", error.ErrorId);
        Assert.Equal(folder, error.Target);
        Assert.Contains($"'{folder}' as float32 needs about", error.Message);
        Assert.Contains("has only 97.7 KiB free", error.Message);
        Assert.Contains("bfloat16", error.Message);
        Assert.True(error.NeededBytes > 100_000);
    }

    [Fact]
    public void The_check_counts_the_requested_dtype()
    {
        var folder = Tiny();
        long needed;
        using (var model = ModelLoader.Load(folder))
            needed = model.Weights.Values.Sum(w => w.numel() * 4);

        // float32 needs every byte; bfloat16 half of them, plus one float32 weight while it is converted.
        Assert.Throws<NotEnoughMemoryException>(() => ModelLoader.Load(folder, ScalarType.Float32, null, availableBytes: needed - 1));
        using var half = ModelLoader.Load(folder, ScalarType.BFloat16, null, availableBytes: needed - 1);
        var error = Assert.Throws<NotEnoughMemoryException>(() => ModelLoader.Load(folder, ScalarType.BFloat16, null, availableBytes: needed / 4));
        Assert.DoesNotContain("load it in bfloat16", error.Message);
    }

    [Fact]
    public void A_sparse_model_of_hundreds_of_gigabytes_is_refused_against_the_real_machine()
    {
        // vocab 2^22 x hidden 2^14 in float32 is 256 GiB for the embedding alone, on disk as a sparse file of zeros.
        var folder = Path.Combine(_dir, "huge");
        Directory.CreateDirectory(folder);
        var config = new Dictionary<string, object>
        {
            ["model_type"] = "llama", ["vocab_size"] = 1 << 22, ["hidden_size"] = 1 << 14, ["intermediate_size"] = 1 << 14,
            ["num_attention_heads"] = 128, ["num_key_value_heads"] = 8, ["num_hidden_layers"] = 1, ["tie_word_embeddings"] = true,
        };
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(config));
        var shapes = ModelLoader.ExpectedWeights(ModelConfigReader.ReadFolder(folder)).ToList();
        WriteSparseCheckpoint(Path.Combine(folder, Checkpoint.SingleFileName), shapes);
        var clock = Stopwatch.StartNew();

        var error = Assert.Throws<NotEnoughMemoryException>(() => ModelLoader.Load(folder));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"Refusing took {clock.Elapsed}.");
        Assert.Contains("needs about 2", error.Message);
        Assert.Contains("GiB", error.Message);
        Assert.NotNull(error.AvailableBytes);
        Assert.Null(error.InnerException);
    }

    [Fact]
    public void A_libtorch_allocation_failure_becomes_the_same_clear_error()
    {
        var folder = Tiny();
        var check = ModelLoader.MemoryCheck.For(folder, [], ScalarType.Float32, CPU, availableBytes: null);

        // 2^45 floats are 128 TiB: more than any address space, so libtorch fails whatever the overcommit policy.
        var error = Assert.Throws<NotEnoughMemoryException>(() => check.WhileAllocating(() => empty(new[] { 1L << 45 }, ScalarType.Float32)));

        Assert.IsAssignableFrom<ExternalException>(error.InnerException);
        Assert.Contains(folder, error.Message);
        Assert.DoesNotContain("DefaultCPUAllocator", error.Message);
        Assert.Contains("free memory", error.Message);
    }

    private static void WriteSparseCheckpoint(string path, IReadOnlyList<WeightShape> shapes)
    {
        var header = new StringBuilder("{");
        long offset = 0;
        foreach (var w in shapes)
        {
            var bytes = w.Shape.Aggregate(1L, (a, b) => a * b) * 4;
            if (header.Length > 1) header.Append(',');
            header.Append($"\"{w.Name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(",", w.Shape)}],\"data_offsets\":[{offset},{offset + bytes}]}}");
            offset += bytes;
        }
        header.Append('}');
        var json = Encoding.UTF8.GetBytes(header.ToString());
        var prefix = new byte[8 + json.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)json.Length);
        json.CopyTo(prefix, 8);
        HostileFiles.Sparse(path, prefix.Length + offset, prefix);
    }
}
