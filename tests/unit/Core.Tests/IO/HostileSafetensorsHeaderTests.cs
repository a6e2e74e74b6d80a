using System;
using TrainableTokens.Core.IO;

namespace TrainableTokens.Core.Tests.IO;

/// <summary>Header JSON of a safetensors file written to confuse: our words, short quotes, the byte where it breaks.</summary>
public sealed class HostileSafetensorsHeaderTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private InvalidSafetensorsException Refused(string header)
    {
        var path = _folder.WriteRaw("m.safetensors", header);
        var error = Assert.Throws<InvalidSafetensorsException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Contains(path, error.Message);
        Assert.True(error.Message.Length < 500, error.Message);
        Assert.DoesNotContain("LineNumber", error.Message);
        return error;
    }

    [Fact]
    public void Nesting_fifty_thousand_deep_is_refused_in_our_words()
    {
        Assert.Contains("nested more than 64 levels", Refused("{\"a\": " + HostileFiles.Nested(50_000) + "}").Message);
    }

    [Fact]
    public void A_lone_surrogate_is_refused_in_our_words()
    {
        var error = Refused("{\"\\ud800\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [0, 0]}}");

        Assert.Contains("lone surrogate", error.Message);
        Assert.DoesNotContain("UTF-16 JSON text", error.Message);
    }

    [Fact]
    public void Broken_json_names_the_byte()
    {
        Assert.Contains("not valid JSON at byte offset 23 of the file", Refused("{\"a\": {\"dtype\" \"F32\"}}").Message);
    }

    [Fact]
    public void A_tensor_name_of_a_megabyte_is_quoted_short()
    {
        Assert.Contains("has no \"shape\"", Refused("{\"" + new string('t', 1_000_000) + "\": {\"dtype\": \"F32\", \"data_offsets\": [0, 0]}}").Message);
    }
}
