using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Merging;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Tuners;

/// <summary>What Merge copies: only the model folder's own files, and only as they were when the merge was planned.</summary>
public sealed class AdapterMergeCopyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-merge-copy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Model(string name, TinyModelSpec? spec = null)
    {
        var path = Path.Combine(_dir, name);
        TinyModelFactory.Create(path, spec ?? new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true });
        return path;
    }

    private string Adapter(string name, long[] ids, int hidden = 64)
    {
        var folder = Path.Combine(_dir, name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"),
            $$"""{"peft_type": "TRAINABLE_TOKENS", "token_indices": [{{string.Join(", ", ids)}}], "target_modules": "model.embed_tokens"}""");
        using var scope = NewDisposeScope();
        SafetensorsWriter.Write(Path.Combine(folder, "adapter_model.safetensors"),
            [new(AdapterFolder.KeyFor("model.embed_tokens"), full(ids.Length, hidden, 0.75f))], new Dictionary<string, string> { ["format"] = "pt" });
        return folder;
    }

    private static Dictionary<string, byte[]> Files(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != AtomicFolder.MarkerFileName) // holds the time it was written
            .ToDictionary(f => Path.GetRelativePath(folder, f), File.ReadAllBytes);

    private string[] Siblings(string folder) => Directory.GetFileSystemEntries(Path.GetDirectoryName(folder)!).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void A_readme_linked_to_etc_passwd_is_refused_by_plan_and_run_and_nothing_is_written()
    {
        var model = Model("m");
        File.CreateSymbolicLink(Path.Combine(model, "README.md"), "/etc/passwd");
        var adapter = Adapter("a", new long[] { 5 });
        var output = Path.Combine(_dir, "merged");
        var before = Siblings(output);
        var request = new AdapterMergeRequest(model, new[] { adapter }, output);

        var planned = Assert.Throws<UncopyableFileException>(() => AdapterMerge.Plan(request));
        var run = Assert.Throws<UncopyableFileException>(() => AdapterMerge.Run(request));

        foreach (var error in new[] { planned, run })
        {
            Assert.Contains($"'{Path.Combine(model, "README.md")}' is a symbolic link to '/etc/passwd'", error.Message);
            Assert.Contains("remove the link", error.Message);
        }
        Assert.Equal(before, Siblings(output));
    }

    [Fact]
    public void A_model_in_a_hugging_face_cache_snapshot_merges_into_a_folder_of_real_files()
    {
        // The cache keeps each file once in blobs/ and links to it from snapshots/REV/.
        var built = Model("built");
        var repository = Path.Combine(_dir, "hub", "models--org--tiny");
        var blobs = Directory.CreateDirectory(Path.Combine(repository, "blobs")).FullName;
        var snapshot = Directory.CreateDirectory(Path.Combine(repository, "snapshots", "c0ffee")).FullName;
        foreach (var file in Directory.GetFiles(built))
        {
            var blob = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file))).ToLowerInvariant();
            File.Copy(file, Path.Combine(blobs, blob));
            File.CreateSymbolicLink(Path.Combine(snapshot, Path.GetFileName(file)), Path.Combine("..", "..", "blobs", blob));
        }
        var adapter = Adapter("a", new long[] { 3, 7 });
        var output = Path.Combine(_dir, "merged");

        var result = AdapterMerge.Run(new AdapterMergeRequest(snapshot, new[] { adapter }, output));

        var expected = AdapterMerge.Run(new AdapterMergeRequest(built, new[] { adapter }, Path.Combine(_dir, "expected")));
        Assert.Equal(expected.BytesCopied, result.BytesCopied);
        Assert.Equal(Files(Path.Combine(_dir, "expected")), Files(output));
        Assert.All(Directory.GetFiles(output), f => Assert.Null(new FileInfo(f).LinkTarget));
    }

    [Fact]
    public void A_model_file_cut_short_again_and_again_while_merges_copy_it_never_gives_a_truncated_merge()
    {
        // About 25 MB of weights, so each copy takes long enough to be caught midway.
        var model = Model("big", new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = true, VocabSize = 4096, HiddenSize = 512, IntermediateSize = 1024 });
        var adapter = Adapter("a", new long[] { 1, 4000 }, hidden: 512);
        var expectedFolder = Path.Combine(_dir, "expected");
        var once = Stopwatch.StartNew();
        AdapterMerge.Run(new AdapterMergeRequest(model, new[] { adapter }, expectedFolder));
        var mergeTicks = once.Elapsed.Ticks;
        var expected = Files(expectedFolder);
        var weights = Path.Combine(model, Checkpoint.SingleFileName);
        var original = File.ReadAllBytes(weights);
        var output = Path.Combine(_dir, "merged");
        var before = Siblings(output);

        using var stop = new CancellationTokenSource();
        var cuts = 0;
        var truncator = new Thread(() =>
        {
            var random = new Random(3);
            var wait = new Stopwatch();
            while (!stop.IsCancellationRequested)
            {
                using (var stream = new FileStream(weights, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
                {
                    var cut = random.Next(original.Length / 4, original.Length);
                    stream.SetLength(cut);
                    Thread.SpinWait(random.Next(1, 5_000));
                    stream.Position = cut;
                    stream.Write(original, cut, original.Length - cut); // the same bytes as before: only the length ever differed
                }
                Interlocked.Increment(ref cuts);
                var hold = random.NextInt64(0, mergeTicks * 2);
                wait.Restart();
                while (wait.Elapsed.Ticks < hold) Thread.SpinWait(100);
            }
        }) { IsBackground = true };

        int merges = 0, merged = 0, changed = 0, truncatedAtPlan = 0;
        var watch = Stopwatch.StartNew();
        truncator.Start();
        try
        {
            // Until a merge has met a cut while copying (a race: on a busy machine it can take more merges), at most 90 s.
            while ((merges < 40 || Volatile.Read(ref cuts) < 40 || changed == 0) && watch.Elapsed < TimeSpan.FromSeconds(90))
            {
                merges++;
                try
                {
                    AdapterMerge.Run(new AdapterMergeRequest(model, new[] { adapter }, output));
                    // A merge that reports success must be exactly the merge of the intact model.
                    var got = Files(output);
                    Assert.Equal(expected.Keys.Order(), got.Keys.Order());
                    foreach (var (name, bytes) in expected)
                        Assert.True(bytes.AsSpan().SequenceEqual(got[name]), $"merge {merges} reported success but its {name} differs from the intact merge ({got[name].Length} bytes, expected {bytes.Length})");
                    Directory.Delete(output, recursive: true);
                    merged++;
                }
                catch (SourceChangedException e)
                {
                    Assert.Equal(weights, e.Target);
                    changed++;
                }
                catch (InvalidSafetensorsException e) when (e.Message.Contains("is truncated"))
                {
                    truncatedAtPlan++; // opened while cut short: refused before anything was written
                }
                Assert.Equal(before, Siblings(output));
            }
        }
        finally
        {
            stop.Cancel();
            truncator.Join();
        }
        Console.WriteLine($"{merges} merges: {merged} complete and correct, {changed} refused as changed while copied, {truncatedAtPlan} refused as truncated when planned; {cuts} cuts");
        Assert.True(cuts >= 40, $"only {cuts} cuts");
        Assert.True(changed > 0, $"none of {merges} merges was copying when the file was cut");
    }
}
