using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Merging;
using TrainableTokens.Core.Models;

namespace TrainableTokens.Core.Tests.IO;

/// <summary>Outputs never replace what the user owns, appear complete or not at all, and are written by one run at a time.</summary>
public sealed class OutputSafetyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-out-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Make(string relative, string text = "mine")
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [InlineData("models", "contains the")]
    [InlineData("models/m", "is the")]
    [InlineData("models/m/sub", "is inside the")]
    public void An_output_that_is_contains_or_lies_inside_an_input_is_refused(string output, string words)
    {
        Make("models/m/config.json");
        var e = Assert.Throws<OutputConflictException>(() =>
            OutputGuard.EnsureApart(Path.Combine(_dir, output), "-OutputPath", [new CommandInput("model folder", Path.Combine(_dir, "models/m"))]));
        Assert.Contains("model folder", e.Message);
        Assert.Contains($"' {words} model folder '", e.Message);
        OutputGuard.EnsureApart(Path.Combine(_dir, "elsewhere"), "-OutputPath", [new CommandInput("model folder", Path.Combine(_dir, "models/m"))]);
    }

    [Fact]
    public void A_symbolic_link_does_not_hide_that_the_output_contains_an_input()
    {
        Make("real/m/config.json");
        Directory.CreateSymbolicLink(Path.Combine(_dir, "link"), Path.Combine(_dir, "real"));
        Assert.Throws<OutputConflictException>(() =>
            OutputGuard.EnsureApart(Path.Combine(_dir, "link"), "-OutputPath", [new CommandInput("model folder", Path.Combine(_dir, "real/m"))]));
        Assert.Throws<OutputConflictException>(() =>
            OutputGuard.EnsureApart(Path.Combine(_dir, "real"), "-OutputPath", [new CommandInput("model folder", Path.Combine(_dir, "link/m/../m"))]));
    }

    [Fact]
    public void Merge_with_force_onto_the_folder_holding_the_model_refuses_and_keeps_everything()
    {
        var models = Path.Combine(_dir, "models");
        var model = Path.Combine(models, "m");
        TinyModelFactory.Create(model, new TinyModelSpec { ModelType = "llama", VocabSize = 64 });
        var other = Make("models/other/weights.bin", "other model");
        var adapter = Path.Combine(_dir, "a");
        Directory.CreateDirectory(adapter);
        File.WriteAllText(Path.Combine(adapter, "adapter_config.json"), "{\"peft_type\":\"TRAINABLE_TOKENS\",\"token_indices\":[1]}");
        var before = Directory.GetFiles(models, "*", SearchOption.AllDirectories).Order().ToList();

        var e = Assert.Throws<OutputConflictException>(() =>
            AdapterMerge.Plan(new AdapterMergeRequest(model, [adapter], models) { Overwrite = true }));
        Assert.Contains("contains the model folder", e.Message);
        Assert.Equal(before, Directory.GetFiles(models, "*", SearchOption.AllDirectories).Order());
        Assert.Equal("other model", File.ReadAllText(other));
    }

    [Fact]
    public void Force_replaces_only_a_folder_the_same_command_wrote()
    {
        var mine = Path.Combine(_dir, "mine");
        Make("mine/notes.txt");
        var e = Assert.Throws<OutputConflictException>(() => AtomicFolder.Write(mine, t => File.WriteAllText(Path.Combine(t, "x"), "new"), overwrite: true, writer: "Merge-TokenAdapter"));
        Assert.Contains("was not written by Merge-TokenAdapter", e.Message);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(mine, "notes.txt")));

        var ours = Path.Combine(_dir, "ours");
        AtomicFolder.Write(ours, t => File.WriteAllText(Path.Combine(t, "x"), "1"), overwrite: false, writer: "Merge-TokenAdapter");
        Assert.Throws<OutputConflictException>(() => AtomicFolder.Write(ours, t => { }, overwrite: true, writer: "New-TinyModel"));
        AtomicFolder.Write(ours, t => File.WriteAllText(Path.Combine(t, "x"), "2"), overwrite: true, writer: "Merge-TokenAdapter");
        Assert.Equal("2", File.ReadAllText(Path.Combine(ours, "x")));
        Assert.Equal("Merge-TokenAdapter", AtomicFolder.WriterOf(ours));
        Assert.Equal(new[] { "ours" }, Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Where(n => n != "mine"));
    }

    [Fact]
    public void Force_onto_an_existing_file_refuses_keeps_the_file_and_leaves_nothing_behind()
    {
        var file = Make("afile", "user data");
        var e = Assert.Throws<OutputConflictException>(() => AtomicFolder.Write(file, t => File.WriteAllText(Path.Combine(t, "x"), "new"), overwrite: true, writer: "Merge-TokenAdapter"));
        Assert.Contains("is a file", e.Message);
        Assert.Equal("user data", File.ReadAllText(file));
        Assert.Equal(new[] { "afile" }, Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void A_failed_write_leaves_the_previous_folder_and_no_partial_folder()
    {
        var target = Path.Combine(_dir, "out");
        AtomicFolder.Write(target, t => File.WriteAllText(Path.Combine(t, "x"), "old"), overwrite: false, writer: "w");
        Assert.Throws<InvalidDataException>(() => AtomicFolder.Write(target, t =>
        {
            File.WriteAllText(Path.Combine(t, "x"), "half");
            throw new InvalidDataException("boom");
        }, overwrite: true, writer: "w"));
        Assert.Equal("old", File.ReadAllText(Path.Combine(target, "x")));
        Assert.Equal(new[] { "out" }, Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void The_next_write_removes_what_a_killed_write_left_and_puts_back_a_folder_caught_between_renames()
    {
        var target = Path.Combine(_dir, "out");
        Directory.CreateDirectory(Path.Combine(_dir, $".out.{Guid.NewGuid():N}.partial"));
        Directory.CreateDirectory(Path.Combine(_dir, $".out.{Guid.NewGuid():N}.deleting"));
        var old = Directory.CreateDirectory(Path.Combine(_dir, $".out.{Guid.NewGuid():N}.old")).FullName;
        File.WriteAllText(Path.Combine(old, "x"), "previous");
        Directory.CreateDirectory(Path.Combine(_dir, ".out.not-ours.partial"));

        AtomicFolder.RecoverInterrupted(target);

        Assert.Equal("previous", File.ReadAllText(Path.Combine(target, "x")));
        Assert.Equal(new[] { ".out.not-ours.partial", "out" }, Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void A_held_lock_names_its_holder_and_a_killed_holder_does_not_leave_it_stuck()
    {
        var target = Path.Combine(_dir, "out");
        using (OutputLock.Acquire(target, "Merge-TokenAdapter"))
        {
            var e = Assert.Throws<OutputWriteException>(() => OutputLock.Acquire(target, "Merge-TokenAdapter"));
            Assert.Equal("OutputLocked", e.ErrorId);
            Assert.Contains($"process {Environment.ProcessId} on {Environment.MachineName}", e.Message);
            Assert.Throws<OutputWriteException>(() => AtomicFolder.Write(target, _ => { }, overwrite: false));
        }
        Assert.Empty(Directory.GetFileSystemEntries(_dir));

        // Another process holds the same kind of lock (flock(1) uses flock(2), as .NET does), then dies by kill -9.
        var lockFile = Path.Combine(_dir, ".out.lock");
        using var holder = Process.Start(new ProcessStartInfo("flock", ["-n", "-o", lockFile, "sleep", "60"]))!;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!File.Exists(lockFile) && DateTime.UtcNow < deadline) System.Threading.Thread.Sleep(20);
        System.Threading.Thread.Sleep(200);
        Assert.Throws<OutputWriteException>(() => OutputLock.Acquire(target, "x"));
        holder.Kill(entireProcessTree: true);
        holder.WaitForExit();
        using (OutputLock.Acquire(target, "x")) { }
    }

    [Fact]
    public void A_full_disk_names_the_users_path_and_leaves_nothing()
    {
        var target = Path.Combine(_dir, "out");
        var e = Assert.Throws<OutputWriteException>(() => AtomicFolder.Write(target, _ =>
            throw new IOException("No space left on device : '/tmp/.out.1234.partial/x'", 28), overwrite: false));
        Assert.Equal("DiskFull", e.ErrorId);
        Assert.Contains($"'{target}'", e.Message);
        Assert.DoesNotContain(".partial", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public async System.Threading.Tasks.Task A_fifo_or_device_named_as_weights_is_refused_at_once_instead_of_hanging()
    {
        var fifo = Path.Combine(_dir, "model.safetensors");
        using (var mk = Process.Start("mkfifo", [fifo])!) mk.WaitForExit();
        var task = System.Threading.Tasks.Task.Run(() => Assert.Throws<InvalidSafetensorsException>(() => SafetensorsFile.Open(fifo)));
        var finished = await System.Threading.Tasks.Task.WhenAny(task, System.Threading.Tasks.Task.Delay(TimeSpan.FromSeconds(20)));
        Assert.True(finished == task, "opening a FIFO must not block");
        Assert.Contains("FIFO", (await task).Message);
        Assert.Contains("character device", Assert.Throws<InvalidSafetensorsException>(() => SafetensorsFile.Open("/dev/zero")).Message);
    }
}
