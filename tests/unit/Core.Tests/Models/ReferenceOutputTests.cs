using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Models;

/// <summary>
/// Forward passes against outputs recorded from Hugging Face transformers (tests/reference/check_against_transformers.py)
/// on the tiny models in tests/fixtures/reference: an independent implementation, checked here without Python.
/// </summary>
public sealed class ReferenceOutputTests
{
    private static string FixtureRoot => Path.Combine(AppContext.BaseDirectory, "fixtures", "reference");

    public static IEnumerable<object[]> Cases =>
        Directory.Exists(FixtureRoot)
            ? Directory.GetDirectories(FixtureRoot).Select(d => new object[] { Path.GetFileName(d) }).OrderBy(c => (string)c[0])
            : Enumerable.Empty<object[]>();

    [Fact]
    public void Every_architecture_has_recorded_references_in_float32_and_bfloat16()
    {
        var names = Cases.Select(c => (string)c[0]).ToList();
        foreach (var type in ModelArchitectures.Supported)
            Assert.Contains(names, n => n.StartsWith(type + "-f32", StringComparison.Ordinal));
        Assert.Contains(names, n => n.Contains("bf16"));
        Assert.Contains(names, n => n.Contains("sharded"));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Logits_and_hidden_states_match_transformers(string name)
    {
        var dir = Path.Combine(FixtureRoot, name);
        using var caseJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json")));
        var ids = caseJson.RootElement.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        string dtype = caseJson.RootElement.GetProperty("dtype").GetString()!;

        using var scope = NewDisposeScope();
        using var model = ModelLoader.Load(Path.Combine(dir, "model"), ModelDtype.Parse(dtype));
        using var output = model.Forward(tensor(ids, new long[] { 1, ids.Length }), outputHiddenStates: true);
        using var reference = SafetensorsFile.Open(Path.Combine(dir, "reference.safetensors"));

        var logits = output.Logits.to(ScalarType.Float32);
        double logitTolerance = dtype == "float32" ? 5e-5 : 5e-2;
        double logitDiff = (logits - reference.Load("logits")).abs().max().item<float>();
        Assert.True(logitDiff <= logitTolerance, $"{name}: logits differ by {logitDiff:E3} (tolerance {logitTolerance:E0})");

        int count = reference.Tensors.Count(t => t.Name.StartsWith("hidden_states.", StringComparison.Ordinal));
        Assert.Equal(count, output.HiddenStates.Count);
        double embeddingDiff = (output.HiddenStates[0].to(ScalarType.Float32) - reference.Load("hidden_states.0")).abs().max().item<float>();
        Assert.True(embeddingDiff <= (dtype == "float32" ? 1e-6 : 0), $"{name}: the embedding output differs by {embeddingDiff:E3}");
    }
}
