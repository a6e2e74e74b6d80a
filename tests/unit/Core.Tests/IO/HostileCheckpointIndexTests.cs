using System;
using System.IO;
using System.Linq;
using System.Text;
using TrainableTokens.Core.IO;

namespace TrainableTokens.Core.Tests.IO;

/// <summary>model.safetensors.index.json that is not a file, not text or not sane: our error naming the index, never a hang.</summary>
public sealed class HostileCheckpointIndexTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string IndexPath => _folder.File(Checkpoint.IndexFileName);

    private InvalidSafetensorsException Refused()
    {
        var error = Assert.Throws<InvalidSafetensorsException>(() => Checkpoint.OpenFolder(_folder.Path));
        Assert.Contains(IndexPath, error.Message);
        Assert.True(error.Message.Length < 500, error.Message);
        return error;
    }

    [Fact]
    public void A_fifo_index_is_refused_without_waiting()
    {
        HostileFiles.Fifo(IndexPath);

        Assert.Contains("FIFO", Refused().Message);
    }

    [Theory]
    [InlineData("/dev/zero")]
    [InlineData("/dev/urandom")]
    public void An_index_linked_to_a_device_is_refused(string device)
    {
        HostileFiles.LinkTo(IndexPath, device);

        Assert.Contains("character device", Refused().Message);
    }

    [Fact]
    public void An_index_larger_than_the_limit_is_refused_before_it_is_read()
    {
        HostileFiles.Sparse(IndexPath, 100_000_001);

        Assert.Contains("at most 95.4 MiB", Refused().Message);
    }

    [Fact]
    public void Invalid_utf8_is_refused_with_its_line()
    {
        File.WriteAllBytes(IndexPath, [.. "{\n\"weight_map\": {\""u8, 0xFF, .. "\": \"a.safetensors\"}}"u8]);

        var error = Refused();

        Assert.Contains("line 2", error.Message);
        Assert.Contains("UTF-8", error.Message);
    }

    [Fact]
    public void A_utf16_index_is_named_as_such()
    {
        File.WriteAllText(IndexPath, "{\"weight_map\": {\"a\": \"a.safetensors\"}}", Encoding.Unicode);

        Assert.Contains("UTF-16", Refused().Message);
    }

    [Theory]
    [InlineData("", "it is empty")]
    [InlineData("{\"weight_map\": {\"\\ud800\": \"a.safetensors\"}}", "lone surrogate")]
    [InlineData("{\"weight_map\": {\"a\": \"a.safetensors\"}}{}", "not valid JSON at line 1")]
    public void Broken_json_gets_our_words(string json, string expected)
    {
        File.WriteAllText(IndexPath, json);

        var error = Refused();

        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain("LineNumber", error.Message);
        Assert.DoesNotContain("UTF-16 JSON text", error.Message);
    }

    [Fact]
    public void Nesting_fifty_thousand_deep_is_refused()
    {
        File.WriteAllText(IndexPath, "{\"weight_map\": {\"a\": " + HostileFiles.Nested(50_000) + "}}");

        Assert.Contains("nested more than 64 levels", Refused().Message);
    }

    [Fact]
    public void A_tensor_name_of_a_megabyte_is_quoted_short()
    {
        File.WriteAllText(IndexPath, "{\"weight_map\": {\"" + new string('t', 1_000_000) + "\": \"../x\"}}");

        Assert.Contains("which is not a file name", Refused().Message);
    }
}
