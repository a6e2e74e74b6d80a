using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainableTokens.Core;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.DeviceHarness;

/// <summary>
/// LoRA and LoRA + trainable tokens adapters across PEFT, both ways (issue 14 item 4). <c>lora-write</c> makes tiny
/// models (tied and untied), our adapters with random weights, and our logits with them, for
/// tests/reference/check_lora_peft.py to load in PEFT; the same case.json tells that script which PEFT LoraConfig to
/// build itself (list and map forms of trainable_token_indices). <c>lora-check</c> loads the adapters PEFT made and
/// compares our logits with PEFT's. A build whose LoRA has no token rows yet says "not supported by this build" for
/// the combined cases instead of failing the run.
/// </summary>
internal static class LoraCases
{
    private const double Tolerance = 5e-5;
    private static readonly long[] InputIds = { 1, 3, 5, 6, 100, 4, 2, 7, 5, 9 };

    private sealed record Case(string Name, bool Tied, int Seed, JsonObject Peft);

    private static IEnumerable<Case> Cases()
    {
        JsonObject Lora(int r, double alpha, JsonNode targets, bool rslora = false) =>
            new() { ["r"] = r, ["lora_alpha"] = alpha, ["target_modules"] = targets, ["use_rslora"] = rslora, ["lora_dropout"] = 0.0 };
        JsonArray Names(params string[] n) => new(n.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());
        JsonArray Ids(params long[] ids) => new(ids.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray());

        yield return new("lora-untied", false, 31, Lora(4, 8, Names("q_proj", "v_proj")));
        yield return new("lora-tied-all-linear-rslora", true, 32, Lora(2, 4, JsonValue.Create("all-linear")!, rslora: true));
        var list = Lora(4, 8, Names("q_proj", "v_proj")); list["trainable_token_indices"] = Ids(5, 6, 100);
        yield return new("lora-tt-list-tied", true, 33, list);
        var listUntied = Lora(4, 8, Names("q_proj", "o_proj")); listUntied["trainable_token_indices"] = Ids(5, 6);
        yield return new("lora-tt-list-untied", false, 34, listUntied);
        var map = Lora(4, 8, Names("q_proj", "v_proj")); map["trainable_token_indices"] = new JsonObject { ["embed_tokens"] = Ids(5, 6, 100), ["lm_head"] = Ids(7) };
        yield return new("lora-tt-map-untied", false, 35, map);
    }

    public static int Write(Options options)
    {
        var outDir = Path.GetFullPath(options.Require("out"));
        Directory.CreateDirectory(outDir);
        foreach (var c in Cases())
        {
            var dir = Path.Combine(outDir, c.Name);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            Directory.CreateDirectory(dir);
            var modelDir = Path.Combine(dir, "model");
            TinyModelFactory.Create(modelDir, new TinyModelSpec { ModelType = "llama", Seed = c.Seed, TieWordEmbeddings = c.Tied });
            var caseJson = new JsonObject
            {
                ["input_ids"] = new JsonArray(InputIds.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray()),
                ["dtype"] = "float32", ["tied"] = c.Tied, ["peft_config"] = c.Peft.DeepClone(),
            };
            File.WriteAllText(Path.Combine(dir, "case.json"), caseJson.ToJsonString());
            var configJson = c.Peft.DeepClone().AsObject();
            configJson["peft_type"] = LoraConfig.PeftType;
            configJson["task_type"] = "CAUSAL_LM";
            var config = LoraConfig.FromJson(configJson.ToJsonString(), Path.Combine(dir, "case.json"));
            bool combined = c.Peft.ContainsKey("trainable_token_indices");
            using var scope = NewDisposeScope();
            using var model = ModelLoader.Load(modelDir, ScalarType.Float32, null);
            using var lora = new LoraModel(model);
            string adapterDir = Path.Combine(dir, "ours-adapter");
            try
            {
                lora.AddAdapter("default", config, new Generator((ulong)c.Seed));
                using (no_grad())
                {
                    var noise = new Generator((ulong)(c.Seed + 1000));
                    foreach (var p in lora.TrainableParameters("default"))
                        p.add_(randn(p.shape, p.dtype, p.device, generator: noise) * 0.05);
                }
                LoraAdapterFolder.Save(lora, "default", adapterDir, overwrite: true);
            }
            catch (Exception e) when (combined)
            {
                NotSupported(dir, $"this build's LoRA refuses trainable_token_indices: {e.Message}");
                continue;
            }
            if (combined && !HasTokenRows(adapterDir))
            {
                Directory.Delete(adapterDir, recursive: true);
                NotSupported(dir, "this build's LoRA writes no token rows for trainable_token_indices (no token_adapter key)");
                continue;
            }
            using var output = model.Forward(tensor(InputIds, new long[] { 1, InputIds.Length }));
            lora.Merge();
            using var merged = model.Forward(tensor(InputIds, new long[] { 1, InputIds.Length }));
            TensorFiles.Write(Path.Combine(dir, "ours-with-adapter.safetensors"),
                new Dictionary<string, Tensor> { ["logits"] = output.Logits, ["merged_logits"] = merged.Logits });
            Console.WriteLine($"lora case {c.Name} written");
        }
        return 0;
    }

    public static int Check(Options options)
    {
        var casesDir = options.Require("cases");
        var modelsDir = options.Require("models");
        var device = new Device(options.Get("device") ?? "cpu");
        int failures = 0, checkedCount = 0;
        foreach (var dir in Directory.GetDirectories(casesDir).OrderBy(d => d, StringComparer.Ordinal))
        {
            var name = Path.GetFileName(dir);
            var adapterDir = Path.Combine(dir, "adapter");
            if (!Directory.Exists(adapterDir)) { Console.WriteLine($"skip peft->ours {name}: PEFT made no adapter ({ReadNote(dir)})"); continue; }
            using var scope = NewDisposeScope();
            using var model = ModelLoader.Load(Path.Combine(modelsDir, name, "model"), ScalarType.Float32, device);
            using var lora = new LoraModel(model);
            try
            {
                LoraAdapterFolder.Load(lora, adapterDir, "default");
            }
            catch (Exception e) when (e is InvalidAdapterException or NotSupportedException)
            {
                Console.WriteLine($"n/s  peft->ours {name}: not supported by this build: {e.Message}");
                continue;
            }
            catch (Exception e)
            {
                failures++;
                Console.WriteLine($"FAIL peft->ours {name}: {e.GetType().Name}: {e.Message}");
                continue;
            }
            using var output = model.Forward(tensor(InputIds, new long[] { 1, InputIds.Length }));
            var reference = TensorFiles.Read(Path.Combine(dir, "reference.safetensors"));
            double d = TensorFiles.MaxDiff(output.Logits, reference["logits"]);
            bool ok = d <= Tolerance;
            var merged = "no merged logits in the reference";
            if (reference.TryGetValue("merged_logits", out var mergedReference))
            {
                lora.Merge();
                using var mergedOutput = model.Forward(tensor(InputIds, new long[] { 1, InputIds.Length }));
                double m = TensorFiles.MaxDiff(mergedOutput.Logits, mergedReference);
                ok &= m <= Tolerance;
                merged = $"merged logits max|diff| {m:E3}";
            }
            checkedCount++;
            if (!ok) failures++;
            Console.WriteLine($"{(ok ? "ok  " : "FAIL")} peft->ours {name} ({device.type}): logits max|diff| {d:E3}; {merged}");
        }
        Console.WriteLine($"lora peft->ours: {checkedCount} compared, {failures} failed");
        return failures == 0 ? 0 : 1;
    }

    private static bool HasTokenRows(string adapterDir)
    {
        using var file = SafetensorsFile.Open(Path.Combine(adapterDir, AdapterFolder.WeightsFileName));
        return file.Tensors.Any(t => t.Name.Contains("token_adapter", StringComparison.Ordinal));
    }

    private static void NotSupported(string dir, string why)
    {
        File.WriteAllText(Path.Combine(dir, "not-supported.txt"), why + Environment.NewLine);
        Console.WriteLine($"lora case {Path.GetFileName(dir)}: not supported by this build ({why})");
    }

    private static string ReadNote(string dir)
    {
        var note = Path.Combine(dir, "error.txt");
        return File.Exists(note) ? File.ReadAllText(note).Trim() : "no reason recorded";
    }
}
