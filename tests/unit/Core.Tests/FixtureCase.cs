using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace TrainableTokens.Core.Tests;

/// <summary>
/// A recorded comparison case under tests/fixtures/&lt;set&gt;/&lt;name&gt;: a model folder, case.json (input ids, dtype,
/// token ids) and reference.safetensors written by a Python reference (transformers or PEFT).
/// </summary>
internal sealed record FixtureCase(string Folder, long[] InputIds, string Dtype, long[] TokenIndices)
{
    public static string Root(string set) => Path.Combine(AppContext.BaseDirectory, "fixtures", set);

    public static IEnumerable<object[]> Names(string set) =>
        Directory.Exists(Root(set))
            ? Directory.GetDirectories(Root(set)).Select(d => new object[] { Path.GetFileName(d) }).OrderBy(c => (string)c[0])
            : Enumerable.Empty<object[]>();

    public static FixtureCase Read(string set, string name)
    {
        var folder = Path.Combine(Root(set), name);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "case.json")));
        var root = json.RootElement;
        long[] Longs(string key) => root.TryGetProperty(key, out var a) && a.ValueKind == JsonValueKind.Array ? a.EnumerateArray().Select(e => e.GetInt64()).ToArray() : Array.Empty<long>();
        return new FixtureCase(folder, Longs("input_ids"), root.GetProperty("dtype").GetString()!, Longs("token_indices"));
    }

    public string ModelFolder => Path.Combine(Folder, "model");
    public string ReferenceFile => Path.Combine(Folder, "reference.safetensors");
    /// <summary>Logit tolerance: float32 to 5e-5 as the issue asks; bfloat16 to its own precision.</summary>
    public double LogitTolerance => Dtype == "float32" ? 5e-5 : 5e-2;
}
