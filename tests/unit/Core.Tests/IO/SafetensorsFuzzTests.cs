using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using TorchSharp;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Runtime;

namespace TrainableTokens.Core.Tests.IO;

/// <summary>
/// Damaged files must be refused with <see cref="InvalidSafetensorsException"/>, never crash, hang, read past the end of
/// the file or surface another exception type. Every mutation is seeded, so a failure names a case that replays.
/// </summary>
public sealed class SafetensorsFuzzTests : IDisposable
{
    private static readonly string[] NumberReplacements =
    [
        "0", "1", "-1", "2", "3", "7", "8", "9", "24", "-0", "1.5", "1e3", "4294967296", "1099511627776",
        "9223372036854775807", "9223372036854775808", "18446744073709551616", "null", "\"3\"", "[]", "{}", "true",
    ];

    private static readonly string[] DTypeReplacements =
    [
        "\"F32\"", "\"F16\"", "\"BF16\"", "\"F64\"", "\"I64\"", "\"I32\"", "\"I16\"", "\"I8\"", "\"U8\"", "\"BOOL\"",
        "\"U16\"", "\"F8_E4M3\"", "\"\"", "\"f32\"", "5", "null", "[\"F32\"]",
    ];

    private static readonly byte[] InterestingBytes = "{}[]\",:-0123456789e. nul\\"u8.ToArray().Concat(new byte[] { 0x00, 0x7F, 0xC3, 0xFF, 0x80 }).ToArray();

    private readonly TempFolder _folder = new();

    public SafetensorsFuzzTests() => TorchRuntime.EnsureLoaded();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Mutated_files_either_load_completely_or_throw_InvalidSafetensorsException()
    {
        var valid = ValidFile();
        var cases = Mutations(valid, new Random(20260526)).ToList();
        Assert.True(cases.Count > 3000);
        var failures = new List<string>();
        int accepted = 0, rejected = 0;
        var path = _folder.File("fuzz.safetensors");
        var clock = Stopwatch.StartNew();

        var run = Task.Run(() =>
        {
            foreach (var (label, bytes) in cases)
            {
                File.WriteAllBytes(path, bytes);
                switch (Check(path, bytes.Length))
                {
                    case null: accepted++; break;
                    case "": rejected++; break;
                    case var failure: failures.Add($"{label}: {failure}"); break;
                }
            }
        });

        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(finished == run, $"The fuzz run hung (after {clock.Elapsed}, {accepted + rejected + failures.Count} cases done).");
        await run;
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} cases failed:\n" + string.Join("\n", failures.Take(10)));
        Assert.True(accepted > 50, $"only {accepted} mutated files were accepted; the mutations are too destructive to test loading");
        Assert.True(rejected > 1000, $"only {rejected} mutated files were rejected");
    }

    /// <summary>null: opened and loaded everything; "": refused properly; otherwise what went wrong.</summary>
    private static string? Check(string path, long fileLength)
    {
        try
        {
            using var file = SafetensorsFile.Open(path);
            foreach (var info in file.Tensors)
            {
                if (info.Begin < file.DataStart || info.End < info.Begin || info.End > fileLength)
                    return $"tensor '{info.Name}' was accepted with bytes {info.Begin}..{info.End} in a {fileLength}-byte file";
                using var tensor = file.Load(info.Name);
                if (!tensor.shape.SequenceEqual(info.Shape) || tensor.dtype != info.DType.ToScalarType())
                    return $"tensor '{info.Name}' loaded with the wrong shape or dtype";
                if (file.ReadBytes(info.Name).LongLength != info.ByteLength)
                    return $"tensor '{info.Name}' read the wrong number of bytes";
            }
            return null;
        }
        catch (InvalidSafetensorsException)
        {
            return "";
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }

    private byte[] ValidFile()
    {
        using var matrix = torch.arange(6, dtype: torch.ScalarType.Float32).view(2, 3);
        using var half = torch.ones(4, dtype: torch.ScalarType.BFloat16);
        using var scalar = torch.tensor(42L);
        using var mask = torch.tensor(new[] { true, false, true });
        using var empty = torch.empty(new long[] { 0 }, torch.ScalarType.Byte);
        using var f16 = torch.ones(2, dtype: torch.ScalarType.Float16);
        var path = _folder.File("valid.safetensors");
        SafetensorsWriter.Write(path,
            [new("matrix", matrix), new("half", half), new("scalar", scalar), new("mask", mask), new("empty", empty), new("f16", f16)],
            new Dictionary<string, string> { ["format"] = "pt" });
        return File.ReadAllBytes(path);
    }

    private static IEnumerable<(string Label, byte[] Bytes)> Mutations(byte[] valid, Random random)
    {
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(valid);
        var headerEnd = 8 + headerLength;
        var header = Encoding.UTF8.GetString(valid, 8, headerLength);
        var data = valid[headerEnd..];

        yield return ("unchanged", valid);
        for (var length = 0; length < valid.Length; length++)
            yield return ($"truncated to {length} bytes", valid[..length]);
        for (var bit = 0; bit < 64; bit++)
            yield return ($"length prefix bit {bit} flipped", FlipBit(valid, bit));
        for (var i = 0; i < 200; i++)
        {
            var copy = (byte[])valid.Clone();
            BinaryPrimitives.WriteUInt64LittleEndian(copy, (ulong)random.NextInt64(0, 2 * headerLength));
            yield return ($"length prefix random #{i}", copy);
        }
        for (var i = 0; i < 800; i++)
        {
            var copy = (byte[])valid.Clone();
            var flips = random.Next(1, 4);
            for (var f = 0; f < flips; f++) copy = FlipBit(copy, random.Next(64, headerEnd * 8));
            yield return ($"header bit flips #{i}", copy);
        }
        for (var i = 0; i < 800; i++)
        {
            var copy = (byte[])valid.Clone();
            copy[random.Next(8, headerEnd)] = InterestingBytes[random.Next(InterestingBytes.Length)];
            yield return ($"header byte replaced #{i}", copy);
        }
        for (var i = 0; i < 200; i++)
            yield return ($"data bit flip #{i}", FlipBit(valid, random.Next(headerEnd * 8, valid.Length * 8)));

        var numbers = Regex.Matches(header, @"-?\d+").ToList();
        var dtypes = Regex.Matches(header, "\"(F32|BF16|F16|I64|BOOL|U8)\"").ToList();
        var keys = Regex.Matches(header, "\"(dtype|shape|data_offsets|__metadata__|format)\"").ToList();
        for (var i = 0; i < 1500; i++)
        {
            var edited = header.TrimEnd(' ');
            var edits = random.Next(1, 3);
            for (var e = 0; e < edits; e++) edited = EditJson(edited, random, numbers, dtypes, keys);
            // Mostly keep the length prefix honest so the edit reaches the JSON checks; sometimes leave it stale.
            var honest = random.Next(5) > 0;
            var json = Encoding.UTF8.GetBytes(edited);
            var bytes = new byte[8 + json.Length + data.Length];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, honest ? (ulong)json.Length : (ulong)headerLength);
            json.CopyTo(bytes, 8);
            data.CopyTo(bytes, 8 + json.Length);
            yield return ($"JSON edit #{i} ({(honest ? "length fixed" : "length stale")}): {edited}", bytes);
        }
        for (var i = 0; i < 100; i++)
        {
            var extra = new byte[random.Next(1, 64)];
            random.NextBytes(extra);
            yield return ($"{extra.Length} bytes appended #{i}", valid.Concat(extra).ToArray());
        }
    }

    private static string EditJson(string header, Random random, List<Match> numbers, List<Match> dtypes, List<Match> keys)
    {
        // Offsets come from the original header; after an earlier edit they may be off, which only adds variety.
        string Splice(Match at, string replacement) =>
            at.Index + at.Length <= header.Length ? header[..at.Index] + replacement + header[(at.Index + at.Length)..] : header;
        switch (random.Next(7))
        {
            case 0:
            case 1:
                return Splice(numbers[random.Next(numbers.Count)], NumberReplacements[random.Next(NumberReplacements.Length)]);
            case 2:
                return Splice(dtypes[random.Next(dtypes.Count)], DTypeReplacements[random.Next(DTypeReplacements.Length)]);
            case 3:
                var key = keys[random.Next(keys.Count)];
                return Splice(key, keys[random.Next(keys.Count)].Value);
            case 4:
                var start = random.Next(header.Length);
                return header.Remove(start, Math.Min(header.Length - start, random.Next(1, 6)));
            case 5:
                // Duplicate a tensor entry under another or the same name.
                var entry = Regex.Match(header, "\"matrix\":\\{[^}]*\\}");
                return entry.Success ? header.Insert(1, (random.Next(2) == 0 ? entry.Value : entry.Value.Replace("matrix", "copy")) + ",") : header;
            default:
                var metadata = Regex.Match(header, "\\{\"format\":\"pt\"\\}");
                string[] replacements = ["{\"format\":1}", "[]", "\"pt\"", "{}", "{\"a\":\"b\",\"a\":\"c\"}", "null"];
                return metadata.Success ? header[..metadata.Index] + replacements[random.Next(replacements.Length)] + header[(metadata.Index + metadata.Length)..] : header;
        }
    }

    private static byte[] FlipBit(byte[] bytes, int bit)
    {
        var copy = (byte[])bytes.Clone();
        copy[bit / 8] ^= (byte)(1 << (bit % 8));
        return copy;
    }
}
