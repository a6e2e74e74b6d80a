using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;

namespace TrainableTokens.Core.Tests.Devices;

/// <summary>
/// The CPU build of libtorch has one device that computes, so a tensor created on the wrong device, or a value read
/// back from the device on every step, never fails here: it fails, or stalls, on the first GPU run. libtorch's meta
/// device cannot stand in (its C++ build lacks kernels the forward needs: index_select, where, min, searchsorted,
/// the math attention path), and it lets a CPU generator drive a meta randn and a CPU matrix join a meta matmul.
/// So these tests read the engine's source the way a reviewer would, and fail naming file and line:
/// every tensor factory and generator names its device, and the per-step code reads nothing back from the device
/// unless the line says why (<c>// sync:</c>).
/// </summary>
public sealed class DeviceDisciplineTests
{
    private static readonly Regex Factory = new(@"(?<![\w.])(?:torch\.)?(tensor|arange|zeros|ones|full|empty|randn|rand|randint|randperm|eye|linspace|logspace|scalar_tensor)\s*\(|new\s+Generator\s*\(", RegexOptions.Compiled);
    private static readonly Regex DeviceArgument = new(@"\bCPU\b|device", RegexOptions.Compiled | RegexOptions.IgnoreCase);
    private static readonly Regex DeviceRead = new(@"\.item\s*<|\.data\s*<|\.cpu\s*\(|\.To(Single|Double|Int64|Int32|Boolean)\s*\(|clip_grad_norm_\s*\(|\.tolist\s*\(", RegexOptions.Compiled);

    /// <summary>Code that runs on every forward or training step (the model, the tuners' forwards, the loop, the loss,
    /// the collator, generation's per-token path).</summary>
    private static readonly string[] PerStep =
    [
        "Models/", "Training/TrainingLoop.cs", "Training/EvaluationLoss.cs", "Training/GradientClipping.cs", "Training/StepReadback.cs",
        "Training/Data/", "Tuners/TrainableTokens/TrainableTokensEmbedding.cs", "Tuners/TrainableTokens/TrainableTokensHead.cs",
        "Tuners/Lora/LoraLinear.cs", "Generation/",
    ];

    /// <summary>Files outside the per-step path whose reads are once per command (loading, merging, checks, writing).</summary>
    private static readonly string[] NotPerStep = ["Models/ForwardCapture.cs", "Models/TinyModelFactory.cs", "Models/ModelLoader.cs"];

    [Fact]
    public void Every_tensor_factory_and_generator_in_the_engine_names_its_device()
    {
        var problems = new List<string>();
        foreach (var (file, code) in EngineSources())
            foreach (Match m in Factory.Matches(code))
            {
                var args = Arguments(code, m.Index + m.Length - 1);
                if (!DeviceArgument.IsMatch(args)) problems.Add($"{file}:{Line(code, m.Index)}: {m.Value}{Shorten(args)}) names no device (give CPU or the device it is used on)");
            }
        Assert.True(problems.Count == 0, $"{problems.Count} tensor(s) created on the default device:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void The_per_step_code_reads_nothing_back_from_the_device_unless_it_says_why()
    {
        var problems = new List<string>();
        foreach (var (file, code) in EngineSources(keepSyncMarkers: true))
        {
            if (!PerStep.Any(p => file.StartsWith(p, StringComparison.Ordinal)) || NotPerStep.Contains(file)) continue;
            var lines = code.Split('\n');
            for (int i = 0; i < lines.Length; i++)
                if (DeviceRead.IsMatch(lines[i]) && !lines[i].Contains("// sync:", StringComparison.Ordinal))
                    problems.Add($"{file}:{i + 1}: {lines[i].Trim()}");
        }
        Assert.True(problems.Count == 0, $"{problems.Count} read(s) back from the device in per-step code (each waits for the GPU):\n" + string.Join("\n", problems));
    }

    [Fact]
    public void The_checks_find_what_they_look_for()
    {
        // The scanner itself, on the bugs issue 13 named: a CPU generator's randn on the weight's device is fine only
        // because it names CPU; a bare tensor(...) and a per-step .item() are caught.
        Assert.Matches(Factory, "var index = tensor(ids);");
        Assert.DoesNotMatch(DeviceArgument, Arguments("tensor(ids, ScalarType.Int64)", 6));
        Assert.Matches(DeviceArgument, Arguments("randn(new[] { 2L, 3 }, dtype, CPU, generator: g)", 5));
        Assert.Matches(DeviceArgument, Arguments("arange(n,\n  ScalarType.Int64, Weight.device)", 6));
        Assert.DoesNotMatch(Factory, "var t = zeros_like(x); var s = Tensor(x); var u = x.ones(3);");
        Assert.Matches(DeviceRead, "total += sum.item<float>();");
        Assert.DoesNotMatch(Factory, StripCommentsAndStrings("x = 1; // tensor(a)", keepSyncMarkers: false));
        Assert.DoesNotMatch(Factory, StripCommentsAndStrings("throw new E($\"holds {n} tensor(s)\");", keepSyncMarkers: false));
    }

    private static IEnumerable<(string File, string Code)> EngineSources(bool keepSyncMarkers = false)
    {
        var core = Path.Combine(RepositoryRoot(), "src", "Core");
        foreach (var path in Directory.EnumerateFiles(core, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(core, path).Replace('\\', '/');
            if (relative.StartsWith("obj/", StringComparison.Ordinal) || relative.StartsWith("bin/", StringComparison.Ordinal)) continue;
            yield return (relative, StripCommentsAndStrings(File.ReadAllText(path), keepSyncMarkers));
        }
    }

    /// <summary>The source with comments and string literals blanked (line breaks kept, so line numbers stay right);
    /// a <c>// sync:</c> comment is kept when asked, as the mark of a deliberate read.</summary>
    private static string StripCommentsAndStrings(string code, bool keepSyncMarkers)
    {
        var text = Regex.Replace(code, @"//[^\n]*|/\*.*?\*/|@""(?:[^""]|"""")*""|\$?""(?:[^""\\\n]|\\.)*""|'(?:[^'\\\n]|\\.)'", m =>
        {
            if (keepSyncMarkers && m.Value.StartsWith("// sync:", StringComparison.Ordinal)) return m.Value;
            return new string(m.Value.Select(c => c == '\n' ? '\n' : ' ').ToArray());
        }, RegexOptions.Singleline);
        return text;
    }

    /// <summary>The text between the parenthesis at <paramref name="open"/> and its match.</summary>
    private static string Arguments(string code, int open)
    {
        int depth = 0;
        for (int i = open; i < code.Length; i++)
        {
            if (code[i] == '(') depth++;
            else if (code[i] == ')' && --depth == 0) return code[(open + 1)..i];
        }
        return code[(open + 1)..];
    }

    private static int Line(string code, int index) => code.AsSpan(0, index).Count('\n') + 1;

    private static string Shorten(string args)
    {
        var flat = Regex.Replace(args, @"\s+", " ").Trim();
        return flat.Length > 60 ? flat[..57] + "..." : flat;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "TrainableTokens.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException($"No TrainableTokens.slnx above {AppContext.BaseDirectory}.");
    }
}
