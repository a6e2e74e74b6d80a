using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Runtime;
using static TorchSharp.torch;

// usage: RealSize <config.json> <out folder> [max shard bytes, default 5,000,000,000 as save_pretrained's "5GB"]
// Writes config.json, model-0000i-of-0000N.safetensors and model.safetensors.index.json with random bfloat16 weights.
// Each tensor is made only when the writer reaches it and disposed right after, so memory stays near the largest tensor.
if (args.Length < 2) { Console.Error.WriteLine("usage: RealSize <config.json> <out folder> [max shard bytes]"); return 2; }
var configPath = Path.GetFullPath(args[0]);
var folder = Path.GetFullPath(args[1]);
long maxShard = args.Length > 2 ? long.Parse(args[2]) : 5_000_000_000;
TorchRuntime.EnsureLoaded();
using var doc = JsonDocument.Parse(File.ReadAllBytes(configPath));
var config = ModelConfigReader.Parse(doc.RootElement, configPath);
Directory.CreateDirectory(folder);
File.Copy(configPath, Path.Combine(folder, "config.json"), overwrite: true);

// Shards filled in Hugging Face order, as save_pretrained fills them.
var shards = new List<List<WeightShape>> { new() };
long size = 0, total = 0;
foreach (var w in ModelLoader.ExpectedWeights(config))
{
    long bytes = w.Shape.Aggregate(2L, (a, d) => a * d);
    if (shards[^1].Count > 0 && size + bytes > maxShard) { shards.Add(new()); size = 0; }
    shards[^1].Add(w);
    size += bytes;
    total += bytes;
}
var generator = new Generator(7);
Tensor Make(WeightShape w)
{
    using var scope = NewDisposeScope();
    var value = w.Kind is WeightKind.NormScale ? ones(w.Shape, ScalarType.BFloat16)
        : w.Kind is WeightKind.NormOffset ? zeros(w.Shape, ScalarType.BFloat16)
        : empty(w.Shape, ScalarType.BFloat16).normal_(0, 0.02, generator);
    return value.MoveToOuterDisposeScope();
}
var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
var watch = Stopwatch.StartNew();
for (int i = 0; i < shards.Count; i++)
{
    var file = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
    SafetensorsWriter.WriteStreamed(Path.Combine(folder, file),
        shards[i].Select(w => new TensorSource(w.Name, SafetensorsDType.BF16, w.Shape, () => Make(w))),
        new Dictionary<string, string> { ["format"] = "pt" });
    foreach (var w in shards[i]) map[w.Name] = file;
    Console.Error.WriteLine($"{file}: {shards[i].Count} tensors, {watch.Elapsed.TotalSeconds:F0} s");
}
var index = new { metadata = new { total_size = total }, weight_map = map };
File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), JsonSerializer.Serialize(index, new JsonSerializerOptions { WriteIndented = true }) + "\n");
Console.WriteLine($"{shards.Count};{total};{watch.Elapsed.TotalSeconds:F1}");
return 0;
