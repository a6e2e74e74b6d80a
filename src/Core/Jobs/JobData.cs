using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Training;
using TrainableTokens.Core.Training.Data;

namespace TrainableTokens.Core.Jobs;

/// <summary>
/// The job's data as the engine trains on it: every example already tokenised (chat template, prompt masking,
/// truncation or packing done here), the eval split already held out, and the order each epoch visits the examples in.
/// So the Python side tokenises nothing, and no tokenizer or template difference can change what it trains on.
/// </summary>
internal static class JobData
{
    /// <summary>Writes data/train.jsonl, data/eval.jsonl (when the run evaluates) and data/train-order.json for
    /// <paramref name="epochs"/> epochs; returns their names.</summary>
    public static IReadOnlyList<string> Write(string folder, PreparedRun run, int epochs)
    {
        var written = new List<string> { JobLayout.TrainData };
        Directory.CreateDirectory(Path.Combine(folder, "data"));
        Examples(Path.Combine(folder, JobLayout.TrainData), run.Data.Train);
        if (run.Data.Eval.Count > 0)
        {
            Examples(Path.Combine(folder, JobLayout.EvalData), run.Data.Eval);
            written.Add(JobLayout.EvalData);
        }
        using (var stream = File.Create(Path.Combine(folder, JobLayout.TrainOrder)))
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteStartArray("epochs");
            for (var e = 0; e < epochs; e++)
            {
                json.WriteStartArray();
                foreach (var i in TrainingData.EpochOrder(run.Data.Train.Count, run.Training.Seed + e)) json.WriteNumberValue(i);
                json.WriteEndArray();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        written.Add(JobLayout.TrainOrder);
        return written;
    }

    /// <summary>Writes the engine's starting rows (<see cref="JobInitialRows"/>).</summary>
    public static void WriteInitialRows(string folder, PreparedRun run)
    {
        var rows = JobInitialRows.Compute(run);
        if (rows is null) throw new System.InvalidOperationException("The run has no untrained rows to start from the mean.");
        try
        {
            SafetensorsWriter.Write(Path.Combine(folder, JobLayout.InitialRows), rows, new Dictionary<string, string> { ["format"] = "pt" });
        }
        finally
        {
            foreach (var (_, t) in rows) t.Dispose();
        }
    }

    /// <summary>One JSON object per line: {"input_ids": [...], "labels": [...]}, labels -100 where no loss is taken.</summary>
    private static void Examples(string path, IReadOnlyList<TokenizedExample> examples)
    {
        using var stream = new BufferedStream(File.Create(path), 1 << 16);
        var newline = Encoding.ASCII.GetBytes("\n");
        foreach (var e in examples)
        {
            using (var json = new Utf8JsonWriter(stream))
            {
                json.WriteStartObject();
                json.WriteStartArray("input_ids");
                foreach (var id in e.InputIds) json.WriteNumberValue(id);
                json.WriteEndArray();
                json.WriteStartArray("labels");
                foreach (var label in e.Labels) json.WriteNumberValue(label);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            stream.Write(newline);
        }
    }
}
