using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using TrainableTokens.Core.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace TrainableTokens.DeviceHarness;

/// <summary>
/// Our forward pass on each fixture model (tests/fixtures/reference/&lt;case&gt;: model/, case.json, and
/// transformers' reference.safetensors) on the chosen device, against transformers' outputs and against this
/// engine's CPU outputs recorded on the build machine (--expected). --record writes those CPU outputs.
/// </summary>
internal static class ForwardCheck
{
    // transformers' reference was taken on CPU; a GPU's kernels round differently, bf16 most.
    private static readonly Dictionary<string, double> ReferenceTolerance = new() { ["float32"] = 5e-5, ["bfloat16"] = 5e-2 };
    private static readonly Dictionary<string, double> DeviceTolerance = new() { ["float32"] = 1e-4, ["bfloat16"] = 1.25e-1 };

    public static int Run(Options options)
    {
        var fixtures = options.Require("fixtures");
        var device = new Device(options.Get("device") ?? "cpu");
        var outDir = options.Require("out");
        var expected = options.Get("expected");
        int failures = 0, cases = 0;
        foreach (var caseDir in Directory.GetDirectories(fixtures).OrderBy(d => d, StringComparer.Ordinal))
        {
            var name = Path.GetFileName(caseDir);
            using var caseJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(caseDir, "case.json")));
            var ids = caseJson.RootElement.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var dtypeName = caseJson.RootElement.GetProperty("dtype").GetString()!;
            using var scope = NewDisposeScope();
            using var model = ModelLoader.Load(Path.Combine(caseDir, "model"), ModelDtype.Parse(dtypeName), device);
            using var output = model.Forward(tensor(ids, new long[] { 1, ids.Length }), outputHiddenStates: true);
            var ours = new Dictionary<string, Tensor> { ["logits"] = output.Logits, ["hidden_states.0"] = output.HiddenStates[0] };
            TensorFiles.Write(Path.Combine(outDir, name + ".safetensors"), ours);
            cases++;
            var parts = new List<string>();
            bool ok = true;
            var referencePath = Path.Combine(caseDir, "reference.safetensors");
            if (File.Exists(referencePath))
            {
                var reference = TensorFiles.Read(referencePath);
                double d = TensorFiles.MaxDiff(ours["logits"], reference["logits"]);
                ok &= d <= (device.type == DeviceType.CPU ? ReferenceTolerance : DeviceTolerance)[dtypeName];
                parts.Add($"vs transformers logits {d:E3}");
            }
            if (expected is not null && !options.Flag("record"))
            {
                var path = Path.Combine(expected, name + ".safetensors");
                if (!File.Exists(path)) { ok = false; parts.Add("no recorded CPU output"); }
                else
                {
                    var cpu = TensorFiles.Read(path);
                    double d = TensorFiles.MaxDiff(ours["logits"], cpu["logits"]);
                    double h = TensorFiles.MaxDiff(ours["hidden_states.0"], cpu["hidden_states.0"]);
                    ok &= d <= DeviceTolerance[dtypeName] && h <= DeviceTolerance[dtypeName];
                    parts.Add($"vs recorded CPU logits {d:E3}, hidden_states.0 {h:E3}");
                }
            }
            if (!ok) failures++;
            Console.WriteLine($"{(ok ? "ok  " : "FAIL")} forward {name} ({dtypeName}, {device.type}): {string.Join("; ", parts)}");
        }
        Console.WriteLine($"forward on {device.type}: {cases} cases, {failures} failed");
        return failures == 0 && cases > 0 ? 0 : 1;
    }
}
