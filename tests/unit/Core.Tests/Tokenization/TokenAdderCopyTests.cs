using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tests.IO;
using TrainableTokens.Core.Tokenization;

namespace TrainableTokens.Core.Tests.Tokenization;

/// <summary>What Add-TokenizerToken copies and reads: only the source folder's own files, as they were when it started.</summary>
public sealed class TokenAdderCopyTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Model(string name, int hidden = 16)
    {
        var folder = _temp.File(name);
        TinyModelFactory.Create(folder, new TinyModelSpec
        {
            ModelType = "llama", Seed = 3, VocabSize = 32000, HiddenSize = hidden, IntermediateSize = 32, NumHeads = 2, NumKeyValueHeads = 1,
            NumLayers = 1, TieWordEmbeddings = false,
        });
        TokenizerFiles.CopyInto(TokenizerFixtures.Folder("llama2"), folder);
        return folder;
    }

    private static Dictionary<string, byte[]> Files(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != AtomicFolder.MarkerFileName) // holds the time it was written
            .ToDictionary(f => Path.GetRelativePath(folder, f), File.ReadAllBytes);

    private string[] Siblings() => Directory.GetFileSystemEntries(_temp.Path).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void A_readme_linked_to_etc_passwd_is_refused_and_nothing_is_written()
    {
        var model = Model("m");
        File.CreateSymbolicLink(Path.Combine(model, "README.md"), "/etc/passwd");
        var before = Siblings();

        var error = Assert.Throws<UncopyableFileException>(() =>
            TokenAdder.Run(new AddTokensRequest { Source = model, Output = _temp.File("out"), Tokens = new[] { "<think>" } }));

        Assert.Contains($"'{Path.Combine(model, "README.md")}' is a symbolic link to '/etc/passwd'", error.Message);
        Assert.Equal(before, Siblings());
    }

    [Fact]
    public void A_tokenizer_folder_in_a_hugging_face_cache_snapshot_gets_its_tokens_in_real_files()
    {
        var repository = Path.Combine(_temp.Path, "hub", "models--org--tok");
        var blobs = Directory.CreateDirectory(Path.Combine(repository, "blobs")).FullName;
        var snapshot = Directory.CreateDirectory(Path.Combine(repository, "snapshots", "abc123")).FullName;
        var names = Directory.GetFiles(TokenizerFixtures.Folder("llama2")).Select(f => Path.GetFileName(f)).Append("special_tokens_map.json").ToList();
        foreach (var (name, i) in names.Select((n, i) => (n, i)))
        {
            var source = name == "special_tokens_map.json" ? null : Path.Combine(TokenizerFixtures.Folder("llama2"), name);
            var blob = Path.Combine(blobs, $"blob{i}");
            if (source is null) File.WriteAllText(blob, """{"bos_token": "<s>"}"""); else File.Copy(source, blob);
            File.CreateSymbolicLink(Path.Combine(snapshot, name), Path.Combine("..", "..", "blobs", $"blob{i}"));
        }

        var result = TokenAdder.Run(new AddTokensRequest { Source = snapshot, Output = _temp.File("out"), Tokens = new[] { "<think>" } });

        Assert.Equal(32000, result.Tokens[0].Id);
        Assert.Equal("""{"bos_token": "<s>"}""", File.ReadAllText(_temp.File("out/special_tokens_map.json")));
        Assert.All(Directory.GetFiles(_temp.File("out")), f => Assert.Null(new FileInfo(f).LinkTarget));
    }

    [Fact]
    public void Files_cut_short_again_and_again_while_tokens_are_added_give_our_error_or_the_intact_result()
    {
        // Two kinds of source file change under a run: the weights, which are read tensor by tensor and rewritten,
        // and a large file that is copied as it is (Mistral's consolidated.safetensors here). A copied file that
        // says how long it is can be proven complete; a file of any other kind that is caught halfway through a write
        // and stays so for the whole copy cannot be told from a shorter file, which is why this one is safetensors.
        var model = Model("big", hidden: 64); // two 32000 x 64 float32 matrices: ~16 MB read per run
        var extra = Path.Combine(model, "consolidated.safetensors");
        using (var scope = TorchSharp.torch.NewDisposeScope())
            SafetensorsWriter.Write(extra, [new("all", TorchSharp.torch.arange(12L << 20, TorchSharp.torch.ScalarType.Int32))]);
        var weights = Path.Combine(model, Checkpoint.SingleFileName);
        var once = Stopwatch.StartNew();
        TokenAdder.Run(new AddTokensRequest { Source = model, Output = _temp.File("expected"), Tokens = new[] { "<think>" } });
        var runTicks = once.Elapsed.Ticks;
        var expected = Files(_temp.File("expected"));
        var originals = new[] { weights, extra }.ToDictionary(f => f, File.ReadAllBytes);
        var output = _temp.File("out");
        var before = Siblings();

        using var stop = new CancellationTokenSource();
        var cuts = 0;
        var truncator = new Thread(() =>
        {
            var random = new Random(5);
            var wait = new Stopwatch();
            while (!stop.IsCancellationRequested)
            {
                var (file, original) = originals.ElementAt(random.Next(2));
                using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
                {
                    var cut = random.Next(original.Length / 4, original.Length);
                    stream.SetLength(cut);
                    var shortFor = random.NextInt64(0, 2 * TimeSpan.TicksPerMillisecond); // long enough for a reader to run into the cut
                    wait.Restart();
                    while (wait.Elapsed.Ticks < shortFor) Thread.SpinWait(100);
                    stream.Position = cut;
                    stream.Write(original, cut, original.Length - cut); // the same bytes again: only the length ever differed
                }
                Interlocked.Increment(ref cuts);
                var hold = random.NextInt64(0, runTicks / 2); // several cuts per run
                wait.Restart();
                while (wait.Elapsed.Ticks < hold) Thread.SpinWait(100);
            }
        }) { IsBackground = true };

        int runs = 0, complete = 0, weightsRefused = 0, copyRefused = 0;
        var watch = Stopwatch.StartNew();
        truncator.Start();
        try
        {
            // Until a run has met a cut while copying (a race: on a busy machine it can take more runs), at most 90 s.
            while ((runs < 30 || Volatile.Read(ref cuts) < 30 || copyRefused == 0) && watch.Elapsed < TimeSpan.FromSeconds(90))
            {
                runs++;
                try
                {
                    TokenAdder.Run(new AddTokensRequest { Source = model, Output = output, Tokens = new[] { "<think>" } });
                    var got = Files(output);
                    Assert.Equal(expected.Keys.Order(), got.Keys.Order());
                    foreach (var (name, bytes) in expected)
                        Assert.True(bytes.AsSpan().SequenceEqual(got[name]), $"run {runs} reported success but its {name} differs from the intact result ({got[name].Length} bytes, expected {bytes.Length})");
                    Directory.Delete(output, recursive: true);
                    complete++;
                }
                catch (InvalidSafetensorsException e)
                {
                    // Met cut short when opened or planned, or while its tensors were read.
                    Assert.True(e.Message.StartsWith($"'{weights}'", StringComparison.Ordinal) || e.Message.StartsWith($"'{extra}'", StringComparison.Ordinal), e.Message);
                    Assert.True(e.Message.Contains("after it was opened") || e.Message.Contains("is truncated") || e.Message.Contains("became shorter while it was being read"), e.Message);
                    if (e.Message.StartsWith($"'{weights}'", StringComparison.Ordinal)) weightsRefused++; else copyRefused++;
                }
                catch (SourceChangedException e)
                {
                    Assert.Equal(extra, e.Target);
                    copyRefused++;
                }
                Assert.Equal(before, Siblings());
            }
        }
        finally
        {
            stop.Cancel();
            truncator.Join();
        }
        Console.WriteLine($"{runs} runs: {complete} complete and correct, {weightsRefused} refused for the weights, {copyRefused} for the copied file; {cuts} cuts");
        Assert.True(cuts >= 30, $"only {cuts} cuts");
        Assert.True(copyRefused > 0, $"none of {runs} runs was copying when the file was cut");
    }
}
