using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using TrainableTokens.Core.IO;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>What <see cref="ForwardCapture.Run"/> should do: one sequence of ids through one model folder, outputs to a file.</summary>
public sealed record ForwardCaptureRequest(string ModelFolder, IReadOnlyList<long> InputIds, string OutFile)
{
    /// <summary>"float32" (default), "bfloat16" or "float16".</summary>
    public string Dtype { get; init; } = "float32";
    public string Device { get; init; } = "cpu";
    /// <summary>A Trainable Tokens adapter (PEFT format) to apply, or null for the base model.</summary>
    public string? AdapterFolder { get; init; }
}

/// <summary>What was written.</summary>
public sealed record ForwardCaptureResult(
    string OutFile, string ModelType, int SequenceLength, int VocabSize, int HiddenSize, string Dtype,
    IReadOnlyList<string> Tensors, double LoadSeconds, double ForwardSeconds);

/// <summary>
/// Runs a forward pass and keeps the result as safetensors, for users who debug or compare with Python:
/// <c>logits</c> [1, seq, vocab] and <c>hidden_states.N</c> [1, seq, hidden], all float32 whatever the model dtype.
/// </summary>
public static class ForwardCapture
{
    public static ForwardCaptureResult Run(ForwardCaptureRequest request)
    {
        if (request.InputIds.Count == 0)
            throw new ArgumentException("Give at least one input id.", nameof(request));
        // As every command with -Device: a device this build or machine lacks is a clear error before anything loads.
        Preflight.DeviceCheck.EnsureUsable(request.Device, request.Dtype);
        var outDir = Path.GetDirectoryName(Path.GetFullPath(request.OutFile))!;
        if (!Directory.Exists(outDir))
            throw new DirectoryNotFoundException($"The folder for '{request.OutFile}' does not exist: create '{outDir}' first.");
        var vocab = ModelConfigReader.ReadFolder(request.ModelFolder).VocabSize;
        var inputs = new List<IO.CommandInput> { new("model folder", request.ModelFolder) };
        if (request.AdapterFolder is not null) inputs.Add(new("adapter folder", request.AdapterFolder));
        IO.OutputGuard.EnsureApart(request.OutFile, "-OutFile", inputs);
        foreach (var id in request.InputIds)
            if (id < 0 || id >= vocab) throw new TokenIdOutOfRangeException(id, vocab);
        var watch = Stopwatch.StartNew();
        using var model = ModelLoader.Load(request.ModelFolder, ModelDtype.Parse(request.Dtype), new Device(request.Device));
        // Either tuner's adapter, by its peft_type (the loader scoring and generation use).
        using var adapters = Tuners.AdapterStack.Load(model, request.AdapterFolder is null ? [] : [request.AdapterFolder]);
        double load = watch.Elapsed.TotalSeconds;
        watch.Restart();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = tensor(System.Linq.Enumerable.ToArray(request.InputIds), new long[] { 1, request.InputIds.Count }, device: CPU);
        using var output = model.Forward(ids, outputHiddenStates: true);
        var tensors = new List<KeyValuePair<string, Tensor>> { new("logits", output.Logits.to(ScalarType.Float32).cpu()) };
        for (int i = 0; i < output.HiddenStates.Count; i++)
            tensors.Add(new($"hidden_states.{i}", output.HiddenStates[i].to(ScalarType.Float32).cpu()));
        SafetensorsWriter.Write(request.OutFile, tensors, new Dictionary<string, string> { ["format"] = "pt", ["model_type"] = model.Config.ModelType, ["dtype"] = request.Dtype, ["adapter"] = request.AdapterFolder ?? "" });
        double forward = watch.Elapsed.TotalSeconds;
        return new ForwardCaptureResult(Path.GetFullPath(request.OutFile), model.Config.ModelType, request.InputIds.Count,
            model.Config.VocabSize, model.Config.HiddenSize, request.Dtype, tensors.ConvertAll(t => t.Key), load, forward);
    }
}
