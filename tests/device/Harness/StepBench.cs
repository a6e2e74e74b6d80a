using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tuners.TrainableTokens;
using TorchSharp;
using static TorchSharp.torch;

namespace TrainableTokens.DeviceHarness;

/// <summary>
/// One Trainable Tokens training step at a real model's shape (its config.json, random weights made on the device):
/// median step time over --steps after one warm-up, and peak memory (NVML on a GPU, VmHWM on the CPU). The same
/// step as tests/device/peft_step_bench.py takes with PEFT: batch x seq ids, half of them trained tokens, next-token
/// cross-entropy over float32 logits, AdamW on the k rows. Prints one JSON line; out of memory is a result, not a failure.
/// </summary>
internal static class StepBench
{
    public static int Run(Options options)
    {
        var configPath = options.Require("config");
        var deviceName = options.Get("device") ?? "cpu";
        var device = new Device(deviceName);
        var dtype = ModelDtype.Parse(options.Get("dtype") ?? "bfloat16");
        int batch = options.Int("batch", 1), seq = options.Int("seq", 512), steps = options.Int("steps", 3), k = options.Int("k", 2);
        int? layers = options.Get("layers") is { } l ? int.Parse(l) : null;
        var label = options.Get("label") ?? Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(configPath)));

        using var configDoc = JsonDocument.Parse(File.ReadAllText(configPath));
        var config = ModelConfigReader.Parse(configDoc.RootElement, configPath);
        if (layers is { } n) config = config with { NumLayers = n };
        using var sampler = device.type == DeviceType.CUDA ? GpuMemorySampler.TryStart(device.index < 0 ? 0 : device.index) : null;
        var result = new Dictionary<string, object?>
        {
            ["impl"] = "trainable-tokens-ours", ["label"] = label, ["device"] = deviceName, ["dtype"] = ModelDtype.Name(dtype),
            ["batch"] = batch, ["seq"] = seq, ["k"] = k, ["layers"] = config.NumLayers, ["vocab"] = config.VocabSize,
            ["hidden"] = config.HiddenSize, ["threads"] = get_num_threads(),
        };
        CausalLanguageModel? model = null;
        TrainableTokensModel? tuner = null;
        optim.Optimizer? optimizer = null;
        try
        {
            var build = Stopwatch.StartNew();
            model = RandomModel(config, dtype, device);
            Sync(device);
            result["build_s"] = build.Elapsed.TotalSeconds;
            result["memory_after_build_bytes"] = Peak(sampler, device, reset: true);
            var tokens = Enumerable.Range(0, k).Select(i => (long)(config.VocabSize - 1 - i * 7)).ToArray();
            tuner = new TrainableTokensModel(model);
            tuner.AddAdapter("bench", new TrainableTokensAdapterConfig { TokenIndices = tokens });
            optimizer = optim.AdamW(tuner.TrainableParameters("bench"), lr: 1e-3);
            var rng = new Random(5);
            var idValues = Enumerable.Range(0, batch * seq).Select(i => i % 2 == 0 ? tokens[rng.Next(k)] : (long)rng.Next(config.VocabSize - 8 * k)).ToArray();
            using var ids = tensor(idValues, new long[] { batch, seq }).to(device);
            void Step()
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                using var output = model.Forward(ids);
                var logits = output.Logits[.., ..^1].to(ScalarType.Float32).reshape(-1, config.VocabSize);
                var loss = nn.functional.cross_entropy(logits, ids[.., 1..].reshape(-1));
                loss.backward();
                optimizer.step();
                Sync(device);
            }
            Step();
            GC.Collect();
            Peak(sampler, device, reset: true);
            var times = new List<double>();
            for (int i = 0; i < steps; i++)
            {
                var watch = Stopwatch.StartNew();
                Step();
                times.Add(watch.Elapsed.TotalSeconds);
            }
            times.Sort();
            result["median_step_s"] = times[times.Count / 2];
            result["min_step_s"] = times[0];
            result["peak_memory_bytes"] = Peak(sampler, device, reset: false);
            result["memory_method"] = device.type == DeviceType.CUDA ? "nvml device used (sampled)" : "process VmHWM";
            result["ok"] = true;
        }
        catch (Exception e) when (IsOutOfMemory(e))
        {
            result["ok"] = false;
            result["oom"] = true;
            result["error"] = e.Message.Split('\n')[0];
            result["peak_memory_bytes"] = Peak(sampler, device, reset: false);
        }
        finally
        {
            optimizer?.Dispose();
            tuner?.Dispose();
            model?.Dispose();
        }
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    /// <summary>Random weights in Hugging Face's layout, made on the device itself (an 8B model never touches host memory).</summary>
    private static CausalLanguageModel RandomModel(ModelConfig config, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        var weights = new Dictionary<string, Tensor>();
        foreach (var w in ModelLoader.ExpectedWeights(config))
        {
            var value = w.Kind switch
            {
                WeightKind.NormScale => ones(w.Shape, dtype, device),
                WeightKind.NormOffset => zeros(w.Shape, dtype, device),
                _ => randn(w.Shape, dtype, device).mul_(0.02),
            };
            weights[w.Name] = value.DetachFromDisposeScope();
        }
        return ModelLoader.Create(config, weights);
    }

    private static void Sync(Device device)
    {
        if (device.type == DeviceType.CUDA) cuda.synchronize(device);
    }

    private static long Peak(GpuMemorySampler? sampler, Device device, bool reset)
    {
        if (device.type == DeviceType.CUDA)
        {
            if (sampler is null) return -1;
            long peak = sampler.PeakBytes;
            if (reset) sampler.Reset();
            return peak;
        }
        long hwm = ProcStatus("VmHWM");
        if (reset) File.WriteAllText("/proc/self/clear_refs", "5");
        return hwm;
    }

    private static long ProcStatus(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return -1;
    }

    private static bool IsOutOfMemory(Exception e) =>
        e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("CUDA error: out of memory", StringComparison.Ordinal)
        || e is OutOfMemoryException || e.GetType().Name == "NotEnoughMemoryException";
}
