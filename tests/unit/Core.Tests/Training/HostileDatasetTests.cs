using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Tests.IO;
using TrainableTokens.Core.Training.Data;

namespace TrainableTokens.Core.Tests.Training;

/// <summary>
/// Datasets as a careless or hostile user gives them: each is an <see cref="InvalidDatasetException"/> naming the file
/// and line, read without loading the file whole, never a hang, a crash or a .NET message.
/// </summary>
public sealed class HostileDatasetTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Write(string name, byte[] bytes)
    {
        var path = _folder.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string Write(string name, string text) => Write(name, Encoding.UTF8.GetBytes(text));

    private static InvalidDatasetException Refused(string path)
    {
        var error = Assert.Throws<InvalidDatasetException>(() => DatasetReader.ReadFile(path).ToList());
        Assert.Contains(path, error.Message);
        Assert.DoesNotContain("UTF-16 JSON text", error.Message);
        Assert.DoesNotContain("transcode", error.Message);
        return error;
    }

    [Theory]
    [InlineData("d.jsonl")]
    [InlineData("d.txt")]
    public void Invalid_utf8_is_refused_with_file_and_line(string name)
    {
        var path = Write(name, [.. "{\"text\": \"fine\"}\n{\"text\": \"caf"u8, 0xE9, .. "\"}\n"u8]);

        var error = Refused(path);

        Assert.Equal(2, error.Line);
        Assert.Contains("line 2 is not valid UTF-8", error.Message);
    }

    [Fact]
    public void A_bad_literal_followed_by_a_long_line_is_quoted_short()
    {
        var error = Refused(Write("long.jsonl", "{\"text\": \"ok\"}\nt as copies" + new string('[', 40000) + "\n"));
        Assert.Equal(2, error.Line);
        Assert.True(error.Message.Length < 600, error.Message);
    }

    [Fact]
    public void Invalid_utf8_in_a_json_array_is_refused_with_the_record()
    {
        var path = Write("d.json", [.. "[{\"text\": \"fine\"}, {\"text\": \"caf"u8, 0xE9, .. "\"}]"u8]);

        Assert.Contains("record 2' is not valid UTF-8", Refused(path).Message);
    }

    [Theory]
    [InlineData("d.jsonl", "{\"text\": \"\\ud800\"}\n")]
    [InlineData("d.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"\\udc00\"}]}\n")]
    [InlineData("d.jsonl", "{\"\\ud800\": 1}\n")]
    [InlineData("d.json", "[{\"prompt\": \"\\ud800\", \"completion\": \"x\"}]")]
    public void A_lone_surrogate_escape_is_a_dataset_error(string name, string text)
    {
        Assert.Contains("lone surrogate", Refused(Write(name, text)).Message);
    }

    [Theory]
    [InlineData("d.jsonl")]
    [InlineData("d.txt")]
    public void A_nul_byte_is_refused(string name)
    {
        var error = Refused(Write(name, [.. "{\"text\": \"a\"}\nhello"u8, 0, .. "world\n"u8]));

        Assert.Equal(2, error.Line);
        Assert.Contains("NUL", error.Message);
    }

    [Fact]
    public void A_utf16_file_is_named_as_such()
    {
        var path = _folder.File("d.jsonl");
        File.WriteAllText(path, "{\"text\": \"a\"}\n", Encoding.Unicode);

        Assert.Contains("UTF-16", Refused(path).Message);
    }

    [Fact]
    public void A_utf8_bom_and_crlf_line_ends_are_accepted()
    {
        var path = Write("d.jsonl", [.. "\uFEFF{\"text\": \"a\"}\r\n{\"text\": \"b\"}\r\n"u8]);

        Assert.Equal(new[] { "a", "b" }, DatasetReader.ReadFile(path).Select(r => r.Text!).ToArray());
    }

    [Theory]
    [InlineData("d.jsonl")]
    [InlineData("d.txt")]
    [InlineData("d.json")]
    public void A_fifo_is_refused_without_waiting_for_a_writer(string name)
    {
        var path = HostileFiles.Fifo(_folder.File(name));
        var clock = Stopwatch.StartNew();

        var error = Assert.Throws<InvalidDatasetException>(() => DatasetReader.ReadFile(path));

        Assert.Contains("FIFO", error.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData("/dev/zero")]
    [InlineData("/dev/urandom")]
    public void A_device_is_refused(string device)
    {
        var path = HostileFiles.LinkTo(_folder.File("d.jsonl"), device);

        Assert.Contains("character device", Assert.Throws<InvalidDatasetException>(() => DatasetReader.ReadFile(path)).Message);
    }

    [Fact]
    public void A_folder_is_refused()
    {
        Assert.Contains("a folder", Assert.Throws<InvalidDatasetException>(() => DatasetReader.ReadFile(_folder.Path)).Message);
    }

    [Theory]
    [InlineData("d.jsonl")]
    [InlineData("d.txt")]
    public void A_line_longer_than_the_limit_is_refused_without_reading_it_whole(string name)
    {
        // A gigabyte of zeros and no newline: what /dev/zero copied to a file looks like.
        var path = HostileFiles.Sparse(_folder.File(name), 1L << 30, "{\"text\": \"a\"}\n"u8.ToArray());
        var before = GC.GetAllocatedBytesForCurrentThread();

        var error = Refused(path);

        Assert.Equal(2, error.Line);
        Assert.Contains("longer than 64 MiB", error.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 400L << 20, "Reading allocated more than 400 MiB.");
    }

    [Fact]
    public void A_record_of_a_json_array_larger_than_the_limit_is_refused()
    {
        var path = _folder.File("d.json");
        File.WriteAllText(path, "[{\"text\": \"a\"}, {\"text\": \"" + new string('a', DatasetReader.MaxRecordBytes + 1000) + "\"}]");

        Assert.Contains("larger than 64 MiB", Refused(path).Message);
    }

    [Fact]
    public void A_json_array_is_streamed_record_by_record_across_buffer_boundaries()
    {
        // Strings with brackets, escaped quotes and non-ASCII text, long enough to straddle every read of the stream.
        var records = Enumerable.Range(0, 20_000).Select(i => new { text = $"record {i} ]}},{{[\"\\ {new string('é', i % 300)} {i}" }).ToList();
        var path = Write("d.json", JsonSerializer.Serialize(records) + "\n\n");

        var read = DatasetReader.ReadFile(path).Select(r => r.Text).ToList();

        Assert.Equal(records.Select(r => r.text), read);
    }

    [Theory]
    [InlineData("[{\"text\": \"a\"}] {\"text\": \"b\"}", "more after its JSON array ends")]
    [InlineData("[{\"text\": \"a\"}, {\"text\": ", "not valid JSON")]
    [InlineData("{\"text\": \"a\"}", "must hold a JSON array")]
    [InlineData("[", "cut short")]
    [InlineData("[{\"text\": \"a\"}", "cut short")]
    [InlineData("", "is empty")]
    [InlineData("[" + "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[" + "]", "nested more than 64")]
    public void A_broken_json_array_is_refused(string text, string expected)
    {
        Assert.Contains(expected, Refused(Write("d.json", text)).Message);
    }

    [Fact]
    public void Nesting_fifty_thousand_deep_in_a_line_is_refused()
    {
        var error = Refused(Write("d.jsonl", "{\"text\": \"a\", \"x\": " + HostileFiles.Nested(50_000) + "}\n"));

        Assert.Contains("nested more than 64 levels", error.Message);
        Assert.DoesNotContain("maximum configured depth", error.Message);
    }

    [Fact]
    public void A_field_written_twice_is_refused()
    {
        Assert.Contains("has \"text\" twice", Refused(Write("d.jsonl", "{\"text\": \"a\", \"text\": \"b\"}\n")).Message);
        Assert.Contains("has \"content\" twice", Refused(Write("d.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"a\", \"content\": \"b\"}]}\n")).Message);
    }

    [Fact]
    public void The_preflight_check_of_a_fifo_dataset_is_an_issue_not_a_hang()
    {
        var path = HostileFiles.Fifo(_folder.File("d.jsonl"));

        var issue = Assert.Single(DatasetFileCheck.Check(path));

        Assert.Contains("FIFO", issue.Message);
    }

    [Fact]
    public void The_preflight_check_names_invalid_utf8_with_its_line()
    {
        var path = Write("d.jsonl", [.. "{\"text\": \"a\"}\n{\"text\": \""u8, 0xFF, .. "\"}\n"u8]);

        Assert.Contains(DatasetFileCheck.Check(path), i => i.Message.Contains("line 2 is not valid UTF-8"));
    }

    [Theory]
    [InlineData("{\"text\": \"\\ud800\"}\n")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"\\udc00\"}], \"text\": \"\\ud800\"}\n")]
    public void The_preflight_check_names_a_lone_surrogate_instead_of_throwing(string text)
    {
        var path = Write("d.jsonl", text);

        Assert.Contains(DatasetFileCheck.Check(path), i => i.Message.Contains("line 1") && i.Message.Contains("lone surrogate"));
    }
}
