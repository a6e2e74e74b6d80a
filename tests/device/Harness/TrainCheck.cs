using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Training;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.DeviceHarness;

/// <summary>
/// A short run of the real trainer (examples/quickstart.run.yaml: the tiny Llama 3 model and its data) on the chosen
/// device: per-step losses and the trained rows, against those recorded on the build machine's CPU (--expected, a
/// folder with train.json and train-rows.safetensors). --record writes them.
/// </summary>
internal static class TrainCheck
{
    private const int Steps = 6;
    private const double LossTolerance = 1e-4;
    private const double RowTolerance = 1e-4;

    private sealed class Recorder : IProgress<TrainingProgress>
    {
        public List<double> Losses { get; } = new();
        public void Report(TrainingProgress value) => Losses.Add(value.StepLoss);
    }

    public static int Run(Options options)
    {
        var examples = Path.GetFullPath(options.Require("examples"));
        var device = options.Get("device") ?? "cpu";
        var outDir = Path.GetFullPath(options.Require("out"));
        var work = Path.Combine(Path.GetTempPath(), $"harness-train-{Environment.ProcessId}");
        var config = RunConfig.Load(Path.Combine(examples, "quickstart.run.yaml"));
        var recorder = new Recorder();
        var request = new TrainingRequest(config)
        {
            BaseDirectory = examples,
            Overrides = new RunOverrides { Device = device, OutputDir = Path.Combine(work, "adapter"), MaxSteps = Steps, OverwriteOutputDir = true },
        };
        var result = Trainer.Run(request, recorder);
        Directory.CreateDirectory(outDir);
        Dictionary<string, Tensor> rows;
        using (var file = AdapterFolder.OpenWeights(Path.Combine(work, "adapter")))
            rows = file.Tensors.ToDictionary(t => t.Name, t => file.Load(t.Name));
        var summary = new { device, steps = result.Steps, losses = recorder.Losses, first_loss = result.FirstLoss, final_loss = result.FinalLoss, seconds = result.Seconds };
        File.WriteAllText(Path.Combine(outDir, "train.json"), JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
        TensorFiles.Write(Path.Combine(outDir, "train-rows.safetensors"), rows);
        Console.WriteLine($"train on {device}: {result.Steps} steps, losses {string.Join(", ", recorder.Losses.Select(l => l.ToString("F6")))}, {result.Seconds:F2} s");
        try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        if (options.Flag("record") || options.Get("expected") is not { } expected) return 0;

        using var expectedJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(expected, "train.json")));
        var cpuLosses = expectedJson.RootElement.GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToList();
        double lossDiff = cpuLosses.Count == recorder.Losses.Count
            ? cpuLosses.Zip(recorder.Losses, (a, b) => Math.Abs(a - b)).Max()
            : double.PositiveInfinity;
        var cpuRows = TensorFiles.Read(Path.Combine(expected, "train-rows.safetensors"));
        double rowDiff = cpuRows.Count == rows.Count && cpuRows.Keys.All(rows.ContainsKey)
            ? cpuRows.Max(r => TensorFiles.MaxDiff(r.Value, rows[r.Key]))
            : double.PositiveInfinity;
        bool ok = lossDiff <= LossTolerance && rowDiff <= RowTolerance;
        Console.WriteLine($"{(ok ? "ok  " : "FAIL")} train on {device} vs recorded CPU: losses max|diff| {lossDiff:E3}, trained rows max|diff| {rowDiff:E3}");
        return ok ? 0 : 1;
    }
}
