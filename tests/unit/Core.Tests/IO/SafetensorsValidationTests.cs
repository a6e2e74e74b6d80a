using System;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Runtime;

namespace TrainableTokens.Core.Tests.IO;

public sealed class SafetensorsValidationTests : IDisposable
{
    private const string F32Pair = "\"dtype\":\"F32\",\"shape\":[2]";
    private readonly TempFolder _folder = new();

    public SafetensorsValidationTests() => TorchRuntime.EnsureLoaded();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void File_shorter_than_the_length_prefix_is_refused(int length)
    {
        var path = _folder.File("short.safetensors");
        File.WriteAllBytes(path, new byte[length]);
        var error = OpenFails(path);
        Assert.Contains($"{length} bytes long", error.Message);
        Assert.Contains("8-byte header length", error.Message);
    }

    [Fact]
    public void Header_length_zero_is_refused()
    {
        var error = OpenFails(_folder.WriteRaw("zero.safetensors", "{}", declaredLength: 0));
        Assert.Contains("header length is 0", error.Message);
    }

    [Fact]
    public void Header_length_beyond_the_file_says_how_many_bytes_are_there()
    {
        var error = OpenFails(_folder.WriteRaw("cut.safetensors", "{}", declaredLength: 50));
        Assert.Contains("truncated", error.Message);
        Assert.Contains("header length is 50 bytes but only 2 bytes follow", error.Message);
        Assert.Contains("the file has 10 bytes", error.Message);
    }

    [Theory]
    [InlineData(100_000_001UL)]
    [InlineData(ulong.MaxValue)]
    public void Header_length_over_100_MB_is_refused(ulong declared)
    {
        var error = OpenFails(_folder.WriteRaw("huge.safetensors", "{}", declaredLength: declared));
        Assert.Contains("100 MB", error.Message);
        Assert.Contains(declared.ToString(), error.Message);
    }

    [Fact]
    public void Header_that_is_not_UTF8_is_refused()
    {
        var path = _folder.File("latin1.safetensors");
        var bytes = TempFolder.Raw("{\"a\":1}");
        bytes[10] = 0xFF;
        File.WriteAllBytes(path, bytes);
        Assert.Contains("not valid UTF-8", OpenFails(path).Message);
    }

    [Theory]
    [InlineData("{\"a\":")]
    [InlineData("{'a': 1}")]
    [InlineData("        ")]
    [InlineData("{}\0\0\0\0\0\0")]
    public void Header_that_is_not_JSON_is_refused(string header)
    {
        Assert.Contains("not valid JSON", OpenFails(_folder.WriteRaw("bad.safetensors", header)).Message);
    }

    [Theory]
    [InlineData("[1,2]", "array")]
    [InlineData("\"text\"", "string")]
    [InlineData("42", "number")]
    public void Header_that_is_not_a_JSON_object_is_refused(string header, string kind)
    {
        Assert.Contains($"header is a JSON {kind}, not an object", OpenFails(_folder.WriteRaw("bad.safetensors", header)).Message);
    }

    [Theory]
    [InlineData("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", "has no \"dtype\"")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", "has no \"shape\"")]
    [InlineData("{\"w\":{" + F32Pair + "}}", "has no \"data_offsets\"")]
    [InlineData("{\"w\":[1,2]}", "is a JSON array, not an object")]
    [InlineData("{\"w\":{\"dtype\":5,\"shape\":[2],\"data_offsets\":[0,8]}}", "dtype that is a JSON number")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", "shape that is a JSON string")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", "shape entry 2.0 that is not a whole number")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", "not a whole number")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}}", "not a whole number")]
    [InlineData("{\"w\":{" + F32Pair + ",\"data_offsets\":{}}}", "two whole numbers")]
    [InlineData("{\"w\":{" + F32Pair + ",\"data_offsets\":[0]}}", "two whole numbers")]
    [InlineData("{\"w\":{" + F32Pair + ",\"data_offsets\":[0,4,8]}}", "two whole numbers")]
    [InlineData("{\"w\":{" + F32Pair + ",\"data_offsets\":[0,8.5]}}", "two non-negative whole numbers")]
    [InlineData("{\"w\":{" + F32Pair + ",\"data_offsets\":[null,8]}}", "two non-negative whole numbers")]
    [InlineData("{\"w\":{" + F32Pair + ",\"data_offsets\":[-8,0]}}", "two non-negative whole numbers")]
    [InlineData("{\"w\":{" + F32Pair + ",\"data_offsets\":[8,0]}}", "data_offsets [8, 0], which end before they begin")]
    [InlineData("{\"w\":{" + F32Pair + ",\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", "has the key \"dtype\" twice")]
    public void Malformed_tensor_entries_name_the_tensor_and_the_problem(string header, string problem)
    {
        var error = OpenFails(_folder.WriteRaw("bad.safetensors", header, new byte[8]));
        Assert.Contains("tensor 'w'", error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Theory]
    [InlineData("U16")]
    [InlineData("F8_E4M3")]
    [InlineData("f32")]
    public void Unknown_dtype_lists_the_known_ones(string dtype)
    {
        var error = OpenFails(_folder.WriteRaw("bad.safetensors", $"{{\"w\":{{\"dtype\":\"{dtype}\",\"shape\":[4],\"data_offsets\":[0,8]}}}}", new byte[8]));
        Assert.Contains($"tensor 'w' has dtype '{dtype}'", error.Message);
        Assert.Contains("F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL", error.Message);
    }

    [Fact]
    public void Negative_dimension_is_refused()
    {
        var error = OpenFails(_folder.WriteRaw("bad.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,0]}}"));
        Assert.Contains("tensor 'w' has a negative dimension -1", error.Message);
    }

    [Fact]
    public void Byte_range_that_does_not_match_dtype_and_shape_is_refused()
    {
        var error = OpenFails(_folder.WriteRaw("bad.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}", new byte[24]));
        Assert.Contains("tensor 'w' has data_offsets [0, 16] (16 bytes) but dtype F32 with shape [2, 3] needs 24 bytes", error.Message);
    }

    [Theory]
    [InlineData("[1099511627776,1099511627776]")]
    [InlineData("[4611686018427387904,4611686018427387904,0]")]
    [InlineData("[9223372036854775807]")]
    [InlineData("[3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3]")]
    public void Shape_whose_size_overflows_is_an_error_not_a_crash(string shape)
    {
        var error = OpenFails(_folder.WriteRaw("bad.safetensors", $"{{\"w\":{{\"dtype\":\"F32\",\"shape\":{shape},\"data_offsets\":[0,8]}}}}", new byte[8]));
        Assert.Contains("tensor 'w' has shape", error.Message);
        Assert.Contains("than any file can hold", error.Message);
    }

    [Fact]
    public void Truncated_file_names_the_tensor_and_the_missing_bytes()
    {
        const string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}";
        var path = _folder.WriteRaw("cut.safetensors", header, new byte[20]);
        var length = new FileInfo(path).Length;

        var error = OpenFails(path);

        Assert.Contains("is truncated: tensor 'b'", error.Message);
        Assert.Contains($"ends at byte {length + 4} but the file has only {length} bytes (4 bytes missing)", error.Message);
        Assert.Contains("download or copy it again", error.Message);
    }

    [Fact]
    public void Overlapping_tensors_are_refused_naming_both()
    {
        const string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
        var error = OpenFails(_folder.WriteRaw("bad.safetensors", header, new byte[16]));
        Assert.Contains("tensors 'a'", error.Message);
        Assert.Contains("and 'b'", error.Message);
        Assert.Contains("overlap", error.Message);
    }

    [Fact]
    public void A_tensor_inside_a_larger_one_counts_as_overlap_even_after_a_smaller_one()
    {
        const string header = "{\"big\":{\"dtype\":\"U8\",\"shape\":[10],\"data_offsets\":[0,10]}," +
                              "\"x\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]},\"y\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[6,8]}}";
        var error = OpenFails(_folder.WriteRaw("bad.safetensors", header, new byte[10]));
        Assert.Contains("'big'", error.Message);
        Assert.Contains("overlap", error.Message);
    }

    [Theory]
    [InlineData("{\"__metadata__\":{\"format\":1}}", "entry 'format' is a JSON number; metadata values must be strings")]
    [InlineData("{\"__metadata__\":[\"pt\"]}", "\"__metadata__\" is a JSON array, not an object of strings")]
    [InlineData("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", "has the key 'a' twice")]
    [InlineData("{\"__metadata__\":{},\"__metadata__\":{}}", "two \"__metadata__\" entries")]
    public void Metadata_must_be_an_object_of_strings(string header, string problem)
    {
        Assert.Contains(problem, OpenFails(_folder.WriteRaw("bad.safetensors", header)).Message);
    }

    [Fact]
    public void Duplicate_tensor_names_are_refused()
    {
        const string entry = "{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}";
        var error = OpenFails(_folder.WriteRaw("bad.safetensors", $"{{\"w\":{entry},\"w\":{entry}}}", new byte[1]));
        Assert.Contains("tensor 'w' appears twice", error.Message);
    }

    [Fact]
    public void Boolean_bytes_other_than_0_and_1_are_refused_on_load()
    {
        var path = _folder.WriteRaw("bool.safetensors", "{\"m\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]}}", [1, 0, 2]);
        using var file = SafetensorsFile.Open(path);
        var error = Assert.Throws<InvalidSafetensorsException>(() => file.Load("m"));
        Assert.Contains("BOOL tensor 'm' holds the byte 2 at element 2", error.Message);
    }

    [Fact]
    public void Asking_for_a_missing_tensor_names_the_file_and_the_tensor()
    {
        var path = _folder.WriteRaw("ok.safetensors", "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", [7]);
        using var file = SafetensorsFile.Open(path);
        var error = Assert.Throws<InvalidSafetensorsException>(() => file.Info("model.embed_tokens.weight"));
        Assert.Contains(path, error.Message);
        Assert.Contains("no tensor 'model.embed_tokens.weight'", error.Message);
        Assert.Contains("'w'", error.Message);
        Assert.Throws<InvalidSafetensorsException>(() => file.Load("nope"));
        Assert.Throws<InvalidSafetensorsException>(() => file.ReadBytes("nope"));
    }

    [Fact]
    public void Files_from_other_writers_with_gaps_any_key_order_and_extra_keys_are_read()
    {
        // Not what our writer emits, but valid: offsets out of header order, a gap, metadata last, unknown keys.
        const string header = "{\"b\":{\"shape\":[2],\"data_offsets\":[8,10],\"dtype\":\"U8\",\"extra\":true}," +
                              "\"a\":{\"dtype\":\"I16\",\"shape\":[],\"data_offsets\":[0,2]},\"__metadata__\":{\"format\":\"np\"}}   ";
        var path = _folder.WriteRaw("other.safetensors", header, [0x34, 0x12, 0, 0, 0, 0, 0, 0, 5, 6, 99]);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["b", "a"], file.Tensors.Select(t => t.Name));
        Assert.Equal("np", file.Metadata["format"]);
        Assert.Equal(new byte[] { 5, 6 }, file.ReadBytes("b"));
        using var a = file.Load("a");
        Assert.Equal((short)0x1234, a.item<short>());
        Assert.Equal(8 + header.Length, file.Info("a").Begin);
    }

    [Fact]
    public void Errors_carry_a_stable_id_and_the_file_as_target()
    {
        var path = _folder.WriteRaw("bad.safetensors", "[]");
        var error = OpenFails(path);
        Assert.Equal("InvalidSafetensorsFile", error.ErrorId);
        Assert.Equal(ErrorKind.InvalidData, error.Kind);
        Assert.Equal(path, error.Target);
    }

    private static InvalidSafetensorsException OpenFails(string path)
    {
        var error = Assert.Throws<InvalidSafetensorsException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Contains($"'{path}'", error.Message);
        Assert.Equal(path, error.Target);
        return error;
    }
}
