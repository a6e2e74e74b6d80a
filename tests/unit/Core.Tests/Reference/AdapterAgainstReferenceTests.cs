using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Merging;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tests.IO;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Reference;

/// <summary>
/// Trainable-tokens adapters on every architecture against the independent reference: the engine's forward with the
/// adapter applied equals the reference's forward on the folder Merge-TokenAdapter writes (the rows put into the
/// embedding, and into an untied head when it is targeted), logits within 1e-5 and the embedding output within 1e-6.
/// </summary>
public sealed class AdapterAgainstReferenceTests
{
    private static readonly int[] Ids = { 5, 12, 74, 9, 15, 111, 7, 80, 82, 92, 3, 64 };
    private static readonly long[] Rows = { 7, 74, 111 };

    public static IEnumerable<object[]> Cases =>
        ModelArchitectures.Supported.SelectMany(t => new[] { new object[] { t, false }, new object[] { t, true } });

    [Theory]
    [MemberData(nameof(Cases))]
    public void An_adapter_applied_by_the_engine_equals_the_reference_on_the_merged_folder(string type, bool untiedWithHead)
    {
        using var temp = new TempFolder();
        var model = HfTinyFolder.Write(Path.Combine(temp.Path, "model"), type, c =>
        {
            if (!untiedWithHead) return;
            c["tie_word_embeddings"] = false;
            if (type == "gemma3") c["text_config"]!.AsObject()["tie_word_embeddings"] = false;
        }, seed: 3);
        var config = ModelConfigReader.ReadFolder(model);
        var embedding = ModelArchitectures.InputEmbeddingPath(type);
        var head = ModelArchitectures.LmHeadPath(type);
        bool withHead = untiedWithHead && !config.TieWordEmbeddings;
        var adapter = Adapter(Path.Combine(temp.Path, "adapter"), embedding, withHead ? head : null, config.HiddenSize);
        var merged = Path.Combine(temp.Path, "merged");
        AdapterMerge.Run(new AdapterMergeRequest(model, new[] { adapter }, merged));

        var (expected, hidden) = NaiveDecoder.Forward(merged, Ids, "float32");

        using var scope = NewDisposeScope();
        using var loaded = ModelLoader.Load(model, ScalarType.Float32);
        using var tuner = new TrainableTokensModel(loaded);
        AdapterFolder.Load(tuner, adapter, "a");
        using var output = loaded.Forward(tensor(Ids.Select(i => (long)i).ToArray(), new long[] { 1, Ids.Length }), outputHiddenStates: true);
        Assert.True(MaxDiff(hidden[0], output.HiddenStates[0]) <= 1e-6, $"{type}: the embedding output differs");
        var diff = MaxDiff(expected, output.Logits);
        Assert.True(diff <= 1e-5, $"{type}: logits differ by {diff:E3}");
        // The adapter changed the model: the rows are not the base rows.
        var (baseLogits, _) = NaiveDecoder.Forward(model, Ids, "float32");
        Assert.True(MaxDiff(baseLogits, output.Logits) > 1e-3, $"{type}: the adapter changed nothing");
    }

    /// <summary>A PEFT-format adapter with known rows for the embedding and, optionally, the head.</summary>
    private static string Adapter(string folder, string embedding, string? head, int hidden)
    {
        Directory.CreateDirectory(folder);
        var targets = head is null ? $"[\"{embedding.Split('.').Last()}\"]" : $"[\"{embedding.Split('.').Last()}\", \"{head}\"]";
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"),
            $$"""{"peft_type": "TRAINABLE_TOKENS", "token_indices": [{{string.Join(", ", Rows)}}], "target_modules": {{targets}}}""");
        using var scope = NewDisposeScope();
        var generator = new Generator(99);
        var tensors = new List<KeyValuePair<string, Tensor>> { new(AdapterFolder.KeyFor(embedding), randn(new long[] { Rows.Length, hidden }, generator: generator) * 0.3) };
        if (head is not null) tensors.Add(new(AdapterFolder.KeyFor(head), randn(new long[] { Rows.Length, hidden }, generator: generator) * 0.1));
        SafetensorsWriter.Write(Path.Combine(folder, "adapter_model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        return folder;
    }

    private static double MaxDiff(double[,] expected, Tensor actual)
    {
        var values = actual.to(ScalarType.Float32).contiguous().data<float>().ToArray();
        Assert.Equal(expected.Length, values.Length);
        int cols = expected.GetLength(1);
        double max = 0;
        for (int i = 0; i < values.Length; i++) max = Math.Max(max, Math.Abs(expected[i / cols, i % cols] - values[i]));
        return max;
    }
}
