using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using TorchSharp;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Runtime;

namespace TrainableTokens.Core.Tests.IO;

public sealed class SafetensorsRoundTripTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public SafetensorsRoundTripTests() => TorchRuntime.EnsureLoaded();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(SafetensorsDType.F32)]
    [InlineData(SafetensorsDType.F16)]
    [InlineData(SafetensorsDType.BF16)]
    [InlineData(SafetensorsDType.F64)]
    [InlineData(SafetensorsDType.I64)]
    [InlineData(SafetensorsDType.I32)]
    [InlineData(SafetensorsDType.I16)]
    [InlineData(SafetensorsDType.I8)]
    [InlineData(SafetensorsDType.U8)]
    [InlineData(SafetensorsDType.BOOL)]
    public void Every_dtype_round_trips_bit_exactly(SafetensorsDType dtype)
    {
        // Random bytes include NaNs with payloads, subnormals and negative zero: all must survive untouched.
        var shape = new long[] { 3, 5 };
        var bytes = RandomBytes(15 * dtype.ElementSize(), seed: (int)dtype, booleans: dtype == SafetensorsDType.BOOL);
        using var tensor = TensorFromBytes(bytes, shape, dtype);
        var path = _folder.File("t.safetensors");

        SafetensorsWriter.Write(path, [new("x", tensor)]);

        using var file = SafetensorsFile.Open(path);
        var info = file.Info("x");
        Assert.Equal(dtype, info.DType);
        Assert.Equal(shape, info.Shape);
        Assert.Equal(15, info.ElementCount);
        Assert.Equal(dtype.ElementSize(), info.ElementSize);
        Assert.Equal(bytes, file.ReadBytes("x"));
        using var loaded = file.Load("x");
        Assert.Equal(dtype.ToScalarType(), loaded.dtype);
        Assert.Equal(shape, loaded.shape);
        Assert.Equal(DeviceType.CPU, loaded.device_type);
        Assert.Equal(bytes, loaded.bytes.ToArray());
    }

    [Fact]
    public void Zero_dim_and_zero_size_tensors_round_trip()
    {
        using var scalar = torch.tensor(3.5f);
        using var empty = torch.empty(new long[] { 0, 4 }, torch.ScalarType.BFloat16);
        using var emptyVector = torch.empty(new long[] { 0 }, torch.ScalarType.Int64);
        var path = _folder.File("t.safetensors");

        SafetensorsWriter.Write(path, [new("scalar", scalar), new("empty", empty), new("empty_vector", emptyVector)]);

        using var file = SafetensorsFile.Open(path);
        Assert.Empty(file.Info("scalar").Shape);
        Assert.Equal(1, file.Info("scalar").ElementCount);
        Assert.Equal(file.Info("empty").Begin, file.Info("empty").End);
        using var loadedScalar = file.Load("scalar");
        Assert.Equal(0, loadedScalar.dim());
        Assert.Equal(3.5f, loadedScalar.item<float>());
        using var loadedEmpty = file.Load("empty");
        Assert.Equal(new long[] { 0, 4 }, loadedEmpty.shape);
        Assert.Equal(torch.ScalarType.BFloat16, loadedEmpty.dtype);
        using var loadedVector = file.Load("empty_vector");
        Assert.Equal(new long[] { 0 }, loadedVector.shape);
        Assert.Empty(file.ReadBytes("empty_vector"));
    }

    [Fact]
    public void Metadata_round_trips_in_order_and_sits_first_in_the_header()
    {
        using var tensor = torch.ones(2);
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "quote \" backslash \\ newline \n <think> é 😀" };
        var path = _folder.File("t.safetensors");

        SafetensorsWriter.Write(path, [new("a", tensor)], metadata);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(metadata.ToList(), file.Metadata.ToList());
        Assert.StartsWith("{\"__metadata__\":{\"format\":\"pt\",", HeaderText(path));
    }

    [Fact]
    public void A_file_without_metadata_reports_empty_metadata()
    {
        using var tensor = torch.ones(2);
        var path = _folder.File("t.safetensors");
        SafetensorsWriter.Write(path, [new("a", tensor)]);

        using var file = SafetensorsFile.Open(path);
        Assert.Empty(file.Metadata);
        Assert.DoesNotContain("__metadata__", HeaderText(path));
    }

    [Fact]
    public void Header_is_padded_with_spaces_to_a_multiple_of_8_bytes()
    {
        for (var nameLength = 1; nameLength <= 9; nameLength++)
        {
            using var tensor = torch.ones(1, dtype: torch.ScalarType.Float64);
            var path = _folder.File("t.safetensors");
            SafetensorsWriter.Write(path, [new(new string('n', nameLength), tensor)]);

            using var file = SafetensorsFile.Open(path);
            Assert.Equal(0, file.DataStart % 8);
            var header = HeaderText(path);
            var json = header.TrimEnd(' ');
            Assert.EndsWith("}", json);
            Assert.True(header.Length - json.Length < 8);
            Assert.Equal(file.DataStart, file.Info(new string('n', nameLength)).Begin);
        }
    }

    [Fact]
    public void Data_is_ordered_by_dtype_largest_first_then_by_name()
    {
        using var b = torch.ones(2);
        using var a = torch.ones(3);
        using var c = torch.ones(1, dtype: torch.ScalarType.Int64);
        using var d = torch.ones(5, dtype: torch.ScalarType.Bool);
        using var e = torch.ones(2, dtype: torch.ScalarType.BFloat16);
        using var f = torch.ones(2, dtype: torch.ScalarType.Float16);
        using var g = torch.ones(2, dtype: torch.ScalarType.Int32);
        using var h = torch.ones(2, dtype: torch.ScalarType.Float64);
        using var i = torch.ones(2, dtype: torch.ScalarType.Byte);
        using var j = torch.ones(2, dtype: torch.ScalarType.Int8);
        using var k = torch.ones(2, dtype: torch.ScalarType.Int16);
        var path = _folder.File("t.safetensors");

        SafetensorsWriter.Write(path, [new("b", b), new("a", a), new("c", c), new("d", d), new("e", e), new("f", f),
            new("g", g), new("h", h), new("i", i), new("j", j), new("k", k)]);

        using var file = SafetensorsFile.Open(path);
        // The reference writer's dtype rank: I64 > F64 > F32 > I32 > BF16 > F16 > I16 > I8 > U8 > BOOL.
        Assert.Equal(["c", "h", "a", "b", "g", "e", "f", "k", "j", "i", "d"], file.Tensors.Select(t => t.Name));
        var expectedBegin = file.DataStart;
        foreach (var tensor in file.Tensors)
        {
            Assert.Equal(expectedBegin, tensor.Begin);
            expectedBegin = tensor.End;
        }
        Assert.Equal(new FileInfo(path).Length, expectedBegin);
    }

    [Fact]
    public void Writer_output_matches_hand_computed_bytes_of_the_format()
    {
        // From the spec: u64 LE header length, compact JSON with __metadata__ first, spaces to a multiple of 8, LE data.
        const string json = "{\"__metadata__\":{\"format\":\"pt\"},\"weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        Assert.Equal(90, json.Length);
        var expected = new List<byte> { 96, 0, 0, 0, 0, 0, 0, 0 };
        expected.AddRange(Encoding.ASCII.GetBytes(json + "      "));
        expected.AddRange(new byte[] { 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0 }); // 1.0f, -2.0f
        using var weight = torch.tensor(new[] { 1.0f, -2.0f });
        var path = _folder.File("adapter_model.safetensors");

        SafetensorsWriter.Write(path, [new("weight", weight)], new Dictionary<string, string> { ["format"] = "pt" });

        Assert.Equal(expected.ToArray(), File.ReadAllBytes(path));
        var byHand = _folder.File("by-hand.safetensors");
        File.WriteAllBytes(byHand, expected.ToArray());
        using var file = SafetensorsFile.Open(byHand);
        using var loaded = file.Load("weight");
        Assert.Equal(new[] { 1.0f, -2.0f }, loaded.data<float>().ToArray());
    }

    [Fact]
    public void Non_contiguous_tensors_are_written_in_row_major_order()
    {
        using var matrix = torch.arange(6, dtype: torch.ScalarType.Float32).view(2, 3);
        using var transposed = matrix.t();
        Assert.False(transposed.is_contiguous());
        var path = _folder.File("t.safetensors");

        SafetensorsWriter.Write(path, [new("t", transposed)]);

        using var file = SafetensorsFile.Open(path);
        using var loaded = file.Load("t");
        Assert.Equal(new long[] { 3, 2 }, loaded.shape);
        Assert.Equal(new[] { 0f, 3f, 1f, 4f, 2f, 5f }, loaded.data<float>().ToArray());
    }

    [Fact]
    public void Tensors_larger_than_a_chunk_are_copied_piece_by_piece()
    {
        var bytes = RandomBytes(4 * 1001, seed: 7, booleans: false);
        using var tensor = TensorFromBytes(bytes, [7, 11, 13], SafetensorsDType.F32);
        using var stream = new MemoryStream();

        TensorMemory.WriteTo(tensor, stream, chunkBytes: 64);
        Assert.Equal(bytes, stream.ToArray());

        using var copy = torch.empty(new long[] { 7, 11, 13 }, torch.ScalarType.Float32);
        unsafe
        {
            fixed (byte* source = bytes) TensorMemory.CopyFrom(source, bytes.Length, copy, chunkBytes: 100);
        }
        Assert.Equal(bytes, copy.bytes.ToArray());
    }

    [Fact]
    public void Writing_replaces_the_file_atomically_and_leaves_no_temporary_file()
    {
        var path = _folder.File("t.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        using var tensor = torch.ones(4);

        SafetensorsWriter.Write(path, [new("a", tensor)]);

        Assert.Equal([path], Directory.GetFiles(_folder.Path));
        using var file = SafetensorsFile.Open(path);
        Assert.True(file.Contains("a"));
    }

    [Fact]
    public void A_failed_write_leaves_the_old_file_intact()
    {
        var path = _folder.File("t.safetensors");
        using var good = torch.ones(4);
        SafetensorsWriter.Write(path, [new("a", good)]);
        var before = File.ReadAllBytes(path);
        using var complex = torch.ones(2, dtype: torch.ScalarType.ComplexFloat32);

        var error = Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new("b", good), new("c", complex)]));
        Assert.Contains("'c'", error.Message);
        Assert.Throws<InvalidOperationException>(() => SafetensorsWriter.Write(path, Failing(good)));

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_folder.Path));
    }

    [Fact]
    public void Duplicate_or_reserved_names_are_refused_before_anything_is_written()
    {
        using var tensor = torch.ones(1);
        var path = _folder.File("t.safetensors");

        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new("a", tensor), new("a", tensor)])).Message);
        Assert.Contains("reserved", Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new("__metadata__", tensor)])).Message);
        Assert.Empty(Directory.GetFiles(_folder.Path));
    }

    [Fact]
    public void Loading_by_name_reads_only_that_tensor()
    {
        using var a = torch.full(new long[] { 2, 2 }, 1.5f);
        using var b = torch.arange(10, dtype: torch.ScalarType.Int64);
        var path = _folder.File("t.safetensors");
        SafetensorsWriter.Write(path, [new("a", a), new("b", b)]);

        using var file = SafetensorsFile.Open(path);
        using var loaded = file.Load("b");
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), loaded.data<long>().ToArray());
        Assert.True(file.Contains("a"));
        Assert.False(file.Contains("c"));
    }

    private static IEnumerable<KeyValuePair<string, torch.Tensor>> Failing(torch.Tensor tensor)
    {
        yield return new("a", tensor);
        throw new InvalidOperationException("the caller's sequence failed");
    }

    internal static torch.Tensor TensorFromBytes(byte[] bytes, long[] shape, SafetensorsDType dtype)
    {
        var tensor = torch.empty(shape, dtype.ToScalarType());
        if (bytes.Length > 0) tensor.bytes = bytes;
        return tensor;
    }

    internal static byte[] RandomBytes(int count, int seed, bool booleans)
    {
        var random = new Random(seed);
        var bytes = new byte[count];
        random.NextBytes(bytes);
        if (booleans) for (var i = 0; i < bytes.Length; i++) bytes[i] &= 1;
        return bytes;
    }

    internal static string HeaderText(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var length = (int)BitConverter.ToUInt64(bytes, 0);
        return Encoding.UTF8.GetString(bytes, 8, length);
    }
}
