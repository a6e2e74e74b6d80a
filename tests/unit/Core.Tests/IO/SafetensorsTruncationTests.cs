using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using TorchSharp;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Runtime;

namespace TrainableTokens.Core.Tests.IO;

/// <summary>
/// A file that shrinks or changes while tensors are read from it. Reading a memory-mapped page past the new end of a
/// file raises SIGBUS, which kills the whole process (a PowerShell session with it); these tests run in the test
/// process itself, so a regression aborts the run instead of passing.
/// </summary>
public sealed class SafetensorsTruncationTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public SafetensorsTruncationTests() => TorchRuntime.EnsureLoaded();

    public void Dispose() => _folder.Dispose();

    private string WriteWeights(string name, long elements)
    {
        var path = _folder.File(name);
        using var scope = torch.NewDisposeScope();
        SafetensorsWriter.Write(path, [new("w", torch.ones(elements, torch.ScalarType.Float32)), new("flags", torch.ones(4096, torch.ScalarType.Bool))]);
        return path;
    }

    [Fact]
    public void A_file_truncated_again_and_again_during_loads_gives_our_error_and_never_a_signal()
    {
        var path = WriteWeights("w.safetensors", 8L << 20); // 32 MiB: each load takes long enough to be caught midway
        var full = new FileInfo(path).Length;
        long dataStart;
        var once = Stopwatch.StartNew();
        using (var probe = SafetensorsFile.Open(path))
        {
            dataStart = probe.DataStart;
            probe.Load("w").Dispose();
        }
        // The file stays whole for a random time of up to about two loads, so some loads finish and others are cut midway.
        var wholeTicks = Math.Max(once.Elapsed.Ticks * 2, TimeSpan.TicksPerMillisecond);
        using var stop = new CancellationTokenSource();
        var truncations = 0;
        var truncator = new Thread(() =>
        {
            using var writer = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            var random = new Random(1);
            var wait = new Stopwatch();
            while (!stop.IsCancellationRequested)
            {
                writer.SetLength(dataStart + random.NextInt64(0, full - dataStart)); // cut inside the data
                Thread.SpinWait(random.Next(1, 2_000));
                writer.SetLength(full); // back to full length (zeros), so the next open sees a complete header again
                Interlocked.Increment(ref truncations);
                var hold = random.NextInt64(0, wholeTicks);
                wait.Restart();
                while (wait.Elapsed.Ticks < hold) Thread.SpinWait(100);
            }
        }) { IsBackground = true };

        int loads = 0, complete = 0, ours = 0;
        var kinds = new int[3];
        var watch = Stopwatch.StartNew();
        truncator.Start();
        try
        {
            // Many loads, until one met a truncation midway (a race), bounded in time so a slow machine still finishes.
            while ((loads < 300 || Volatile.Read(ref truncations) < 60 || kinds[0] + kinds[1] == 0) && watch.Elapsed < TimeSpan.FromSeconds(60))
            {
                loads++;
                try
                {
                    using var file = SafetensorsFile.Open(path);
                    using var w = file.Load("w");
                    using var flags = file.Load("flags");
                    complete++;
                }
                catch (InvalidSafetensorsException e)
                {
                    Assert.Contains(path, e.Message);
                    Assert.True(e.Message.Contains("became shorter after it was opened") || e.Message.Contains("changed after it was opened")
                        || e.Message.Contains("is truncated"), e.Message);
                    if (e.Message.Contains("after it was opened")) Assert.Matches("tensor '(w|flags)'", e.Message);
                    ours++;
                    kinds[e.Message.Contains("became shorter") ? 0 : e.Message.Contains("changed after") ? 1 : 2]++;
                }
            }
        }
        finally
        {
            stop.Cancel();
            truncator.Join();
        }
        Console.WriteLine($"{loads} loads: {complete} complete, {ours} refused ({kinds[0]} shorter, {kinds[1]} changed, {kinds[2]} truncated at open); {truncations} truncations, whole for up to {wholeTicks / 10_000.0} ms");
        Assert.Equal(loads, complete + ours);
        Assert.True(truncations >= 60, $"only {truncations} truncations happened");
        // The race was really run: some loads were under way when the file shrank.
        Assert.True(kinds[0] + kinds[1] > 0, $"none of {loads} loads met a truncation midway");
    }

    [Fact]
    public void A_file_cut_short_after_opening_names_the_file_and_tensor()
    {
        var path = WriteWeights("cut.safetensors", 1024);
        using var file = SafetensorsFile.Open(path);
        using (var writer = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
            writer.SetLength(file.Info("w").Begin + 100);

        var error = Assert.Throws<InvalidSafetensorsException>(() => file.Load("w").Dispose());
        Assert.Contains($"'{path}' became shorter after it was opened: tensor 'w'", error.Message);
        Assert.Throws<InvalidSafetensorsException>(() => file.ReadBytes("flags"));
    }

    [Fact]
    public void A_file_rewritten_in_place_after_opening_is_refused_rather_than_read_half_old()
    {
        var path = WriteWeights("rewritten.safetensors", 1024);
        using var file = SafetensorsFile.Open(path);
        Thread.Sleep(20); // past the file system's timestamp granularity
        using (var writer = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            writer.Position = file.Info("w").Begin;
            writer.Write(new byte[16]);
        }

        var error = Assert.Throws<InvalidSafetensorsException>(() => file.Load("w").Dispose());
        Assert.Contains($"'{path}' changed after it was opened", error.Message);
        Assert.Contains("tensor 'w'", error.Message);
    }

    [Fact]
    public void A_file_replaced_by_rename_keeps_reading_the_opened_version()
    {
        // An atomic replace (a new file renamed over the old one) is not a change to the file that was opened.
        var path = WriteWeights("replaced.safetensors", 1024);
        using var file = SafetensorsFile.Open(path);
        var other = WriteWeights("other.safetensors", 16);
        File.Move(other, path, overwrite: true);

        using var w = file.Load("w");
        Assert.Equal(1024, w.shape[0]);
        Assert.True(w.eq(1f).all().item<bool>());
    }
}
