using System;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Jobs;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tuners;
using static TorchSharp.torch;

namespace TrainableTokens.DeviceHarness;

/// <summary>
/// <c>job-check</c>: the adapter an exported job (Export-TokenTrainingJob) trained with Trainer + PEFT on this machine,
/// brought back as a user would (Import-TokenTrainingJob's engine), loaded here and compared with the logits PEFT gave
/// for the same ids (tests/device/check_job.py wrote them beside the job's output).
/// </summary>
internal static class JobCheck
{
    private const double Tolerance = 5e-5;
    // The same ids as check_job.py: ordinary tokens and the quickstart's trained rows.
    private static readonly long[] InputIds = { 1, 3, 5, 6, 100, 4, 2, 7, 10002, 10003, 5, 9 };

    public static int Run(Options options)
    {
        var runs = options.Require("runs");
        var jobs = options.Require("jobs");
        var modelFolder = Path.GetFullPath(options.Require("model"));
        var device = new Device(options.Get("device") ?? "cpu");
        int failures = 0, checkedCount = 0;
        foreach (var run in Directory.GetDirectories(runs).OrderBy(d => d, StringComparer.Ordinal))
        {
            var name = Path.GetFileName(run);
            var peftLogits = Path.Combine(run, "peft-logits.safetensors");
            if (!File.Exists(peftLogits)) { Console.WriteLine($"skip job {name}: the job did not run or PEFT did not load it (see its train.log)"); continue; }
            try
            {
                var imported = JobImport.Run(new JobImportRequest(Path.Combine(jobs, name), Path.Combine(run, $"imported-{device.type.ToString().ToLowerInvariant()}"))
                {
                    AdapterPath = Path.Combine(run, "output"),
                    BaseModel = modelFolder,
                    Overwrite = true,
                });
                var differences = imported.ConfigDifferences.Select(d => d.ToString()).ToList();
                using var scope = NewDisposeScope();
                using var model = ModelLoader.Load(modelFolder, ScalarType.Float32, device);
                using var stack = AdapterStack.Load(model, new[] { imported.Path });
                using var output = model.Forward(tensor(InputIds, new long[] { 1, InputIds.Length }, device: device));
                var reference = TensorFiles.Read(peftLogits);
                var d = TensorFiles.MaxDiff(output.Logits, reference["logits"]);
                var ok = d <= Tolerance;
                checkedCount++;
                if (!ok) failures++;
                Console.WriteLine($"{(ok ? "ok  " : "FAIL")} job {name} ({device.type}): Import-TokenTrainingJob took it" +
                    $" ({imported.Repairs.Count} repair(s); config differences: {(differences.Count == 0 ? "none" : string.Join("; ", differences))});" +
                    $" logits max|diff| vs PEFT {d:E3}");
            }
            catch (Exception e)
            {
                failures++;
                Console.WriteLine($"FAIL job {name}: {e.GetType().Name}: {e.Message}");
            }
        }
        Console.WriteLine($"jobs: {checkedCount} compared, {failures} failed");
        return failures == 0 ? 0 : 1;
    }
}
