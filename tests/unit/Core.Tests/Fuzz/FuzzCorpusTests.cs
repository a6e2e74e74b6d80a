using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using TrainableTokens.Fuzz;

namespace TrainableTokens.Core.Tests.Fuzz;

/// <summary>
/// Replays the fuzz corpus through the fuzzer's own harnesses: every seed (tests/fuzz/seeds/&lt;target&gt;) and every
/// saved finding (tests/fuzz/regressions/&lt;target&gt;) must be accepted or refused with a short error naming the file,
/// within a time limit. Findings in readers still being fixed elsewhere wait in tests/fuzz/pending and are not replayed.
/// </summary>
public sealed class FuzzCorpusTests
{
    /// <summary>Generous for one input of a few KB: a slower one has effectively hung.</summary>
    private static readonly TimeSpan PerInput = TimeSpan.FromSeconds(15);

    private static readonly string Corpus = Path.Combine(AppContext.BaseDirectory, "fuzz");

    public static IEnumerable<object[]> Targets() => FuzzTargets.All.Select(t => new object[] { t.Name });

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Every_seed_and_saved_finding_is_accepted_or_refused_with_a_clear_error(string name)
    {
        var inputs = Inputs("seeds", name).Concat(Inputs("regressions", name)).ToList();
        Assert.NotEmpty(Inputs("seeds", name));
        var failures = new List<string>();
        using var runner = new FuzzRunner(FuzzTargets.Get(name));
        foreach (var file in inputs)
        {
            var bytes = File.ReadAllBytes(file);
            var run = Task.Run(() => runner.Run(bytes));
            var label = Path.GetRelativePath(Corpus, file);
            try
            {
                await run.WaitAsync(PerInput);
            }
            catch (TimeoutException)
            {
                failures.Add($"{label}: no answer within {PerInput.TotalSeconds} s");
            }
            catch (FuzzFinding finding)
            {
                failures.Add($"{label}: {finding.Problem}");
            }
            // A hung run would keep writing the same input file; stop at the first.
            if (!run.IsCompleted) break;
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {inputs.Count} inputs failed:\n" + string.Join("\n", failures));
    }

    [Theory]
    [InlineData("pending")]
    [InlineData("regressions")]
    public void Every_saved_finding_says_what_it_is(string kind)
    {
        var root = Path.Combine(RepoFuzzFolder(), kind);
        if (!Directory.Exists(root)) return;
        foreach (var folder in Directory.EnumerateDirectories(root))
        {
            Assert.Contains(Path.GetFileName(folder), FuzzTargets.All.Select(t => t.Name));
            var notes = Path.Combine(folder, "README.md");
            Assert.True(File.Exists(notes), $"{folder} needs a README.md with one line per input");
            var text = File.ReadAllText(notes);
            foreach (var input in Directory.EnumerateFiles(folder).Where(f => Path.GetFileName(f) != "README.md"))
                Assert.True(text.Contains(Path.GetFileName(input), StringComparison.Ordinal), $"{input} is not described in {notes}");
        }
    }

    private static IEnumerable<string> Inputs(string kind, string target)
    {
        var folder = Path.Combine(Corpus, kind, target);
        return Directory.Exists(folder) ? Directory.EnumerateFiles(folder).Where(f => !f.EndsWith(".md", StringComparison.Ordinal)).Order(StringComparer.Ordinal) : Array.Empty<string>();
    }

    /// <summary>tests/fuzz in the source tree (pending inputs and notes are not in the test output).</summary>
    private static string RepoFuzzFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fuzz");
            if (Directory.Exists(Path.Combine(candidate, "seeds"))) return candidate;
        }
        throw new DirectoryNotFoundException("tests/fuzz was not found above " + AppContext.BaseDirectory);
    }
}
