using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using TorchSharp;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Runtime;

namespace TrainableTokens.Core.Tests.IO;

public sealed class ModelFolderCopyTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public ModelFolderCopyTests() => TorchRuntime.EnsureLoaded();

    public void Dispose() => _temp.Dispose();

    private string Folder(string relative)
    {
        var path = Path.Combine(_temp.Path, relative);
        Directory.CreateDirectory(path);
        return path;
    }

    private static void Weights(string path, int rows = 16)
    {
        using var scope = torch.NewDisposeScope();
        SafetensorsWriter.Write(path, [new("w", torch.arange(rows * 8, torch.ScalarType.Float32).view(rows, 8))]);
    }

    private string[] Listing(string folder) =>
        Directory.GetFileSystemEntries(folder, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(folder, p)).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void Copies_every_file_and_folder_byte_for_byte_and_links_inside_the_folder_as_real_files()
    {
        var source = Folder("m");
        Weights(Path.Combine(source, "model.safetensors"));
        File.WriteAllText(Path.Combine(source, "config.json"), "{}");
        Directory.CreateDirectory(Path.Combine(source, "sub", "deeper"));
        File.WriteAllText(Path.Combine(source, "sub", "deeper", "notes.txt"), "n");
        File.CreateSymbolicLink(Path.Combine(source, "README.md"), "sub/deeper/notes.txt");
        Directory.CreateSymbolicLink(Path.Combine(source, "alias"), "sub");
        var target = Folder("out");

        var plan = ModelFolderCopy.Plan(source);
        var bytes = plan.CopyTo(target);

        Assert.Equal(new[] { "README.md", "alias", Path.Combine("alias", "deeper"), Path.Combine("alias", "deeper", "notes.txt"), "config.json", "model.safetensors",
            "sub", Path.Combine("sub", "deeper"), Path.Combine("sub", "deeper", "notes.txt") }, Listing(target));
        foreach (var file in plan.Files)
            Assert.Equal(File.ReadAllBytes(Path.Combine(source, file.RelativePath)), File.ReadAllBytes(Path.Combine(target, file.RelativePath)));
        Assert.Null(new FileInfo(Path.Combine(target, "README.md")).LinkTarget);
        Assert.Null(new DirectoryInfo(Path.Combine(target, "alias")).LinkTarget);
        Assert.Equal(plan.Files.Sum(f => (long)File.ReadAllBytes(Path.Combine(source, f.RelativePath)).Length), bytes);
    }

    /// <summary>~/.cache/huggingface/hub/models--org--name/snapshots/REV holds every file as a link into ../../blobs.</summary>
    private (string Snapshot, string Repository) HuggingFaceCache()
    {
        var repository = Folder(Path.Combine("hub", "models--org--tiny"));
        var blobs = Folder(Path.Combine("hub", "models--org--tiny", "blobs"));
        var snapshot = Folder(Path.Combine("hub", "models--org--tiny", "snapshots", "0123abcd"));
        Weights(Path.Combine(blobs, "9f1e"));
        File.WriteAllText(Path.Combine(blobs, "77aa"), """{"model_type": "llama"}""");
        File.WriteAllText(Path.Combine(blobs, "5c0d"), "nested");
        File.CreateSymbolicLink(Path.Combine(snapshot, "model.safetensors"), "../../blobs/9f1e");
        File.CreateSymbolicLink(Path.Combine(snapshot, "config.json"), "../../blobs/77aa");
        Directory.CreateDirectory(Path.Combine(snapshot, "tokenizer"));
        File.CreateSymbolicLink(Path.Combine(snapshot, "tokenizer", "vocab.txt"), "../../../blobs/5c0d");
        Directory.CreateDirectory(Path.Combine(repository, "refs"));
        File.WriteAllText(Path.Combine(repository, "refs", "main"), "0123abcd");
        return (snapshot, repository);
    }

    [Fact]
    public void A_hugging_face_cache_snapshot_is_copied_with_its_blobs_as_real_files()
    {
        var (snapshot, repository) = HuggingFaceCache();
        var target = Folder("out");

        ModelFolderCopy.Plan(snapshot).CopyTo(target);

        Assert.Equal(new[] { "config.json", "model.safetensors", "tokenizer", Path.Combine("tokenizer", "vocab.txt") }, Listing(target));
        Assert.Equal(File.ReadAllBytes(Path.Combine(repository, "blobs", "9f1e")), File.ReadAllBytes(Path.Combine(target, "model.safetensors")));
        Assert.Equal("nested", File.ReadAllText(Path.Combine(target, "tokenizer", "vocab.txt")));
        Assert.All(Directory.GetFiles(target, "*", SearchOption.AllDirectories), f => Assert.Null(new FileInfo(f).LinkTarget));
    }

    [Fact]
    public void A_snapshot_reached_through_a_link_to_it_still_uses_its_blobs()
    {
        var (snapshot, _) = HuggingFaceCache();
        var models = Folder("models");
        var alias = Path.Combine(models, "tiny");
        Directory.CreateSymbolicLink(alias, snapshot);

        ModelFolderCopy.Plan(alias).CopyTo(Folder("out"));

        Assert.True(File.Exists(Path.Combine(_temp.Path, "out", "model.safetensors")));
    }

    [Fact]
    public void A_link_to_etc_passwd_is_refused_naming_the_link_its_target_and_the_fix()
    {
        var source = Folder("m");
        File.WriteAllText(Path.Combine(source, "config.json"), "{}");
        File.CreateSymbolicLink(Path.Combine(source, "README.md"), "/etc/passwd");

        var error = Assert.Throws<UncopyableFileException>(() => ModelFolderCopy.Plan(source));

        Assert.Equal("UncopyableFile", error.ErrorId);
        Assert.Equal(Path.Combine(source, "README.md"), error.Target);
        Assert.Contains($"'{Path.Combine(source, "README.md")}' is a symbolic link to '/etc/passwd'", error.Message);
        Assert.Contains("outside the folder", error.Message);
        Assert.Contains("copy the file into the folder in place of the link, or remove the link", error.Message);
    }

    [Fact]
    public void A_link_out_of_a_cache_snapshot_that_is_not_into_its_blobs_is_refused()
    {
        var (snapshot, _) = HuggingFaceCache();
        var elsewhere = Folder(Path.Combine("hub", "models--other--repo", "blobs"));
        File.WriteAllText(Path.Combine(elsewhere, "aa"), "secret");
        File.CreateSymbolicLink(Path.Combine(snapshot, "extra.json"), "../../../models--other--repo/blobs/aa");

        var error = Assert.Throws<UncopyableFileException>(() => ModelFolderCopy.Plan(snapshot));
        Assert.Contains("extra.json", error.Message);
        Assert.DoesNotContain("config.json", error.Message);
    }

    [Fact]
    public void Links_to_folders_outside_loops_broken_links_and_fifos_are_refused_together_before_anything_is_copied()
    {
        var source = Folder("m");
        File.WriteAllText(Path.Combine(source, "config.json"), "{}");
        Directory.CreateSymbolicLink(Path.Combine(source, "etc"), "/etc");
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        Directory.CreateSymbolicLink(Path.Combine(source, "sub", "up"), "..");
        File.CreateSymbolicLink(Path.Combine(source, "gone.json"), "missing.json");
        using (var mkfifo = Process.Start("mkfifo", Path.Combine(source, "pipe"))) mkfifo.WaitForExit();

        var error = Assert.Throws<UncopyableFileException>(() => ModelFolderCopy.Plan(source));

        Assert.Contains("'/etc'", error.Message);
        Assert.Contains("copy the folder into the folder in place of the link", error.Message);
        Assert.Contains("which does not exist", error.Message);
        Assert.Contains("a FIFO (named pipe)", error.Message);
        Assert.Contains("(1 more like these.)", error.Message); // the loop, counted
    }

    [Fact]
    public void Files_left_out_of_the_copy_are_not_checked()
    {
        var source = Folder("m");
        File.WriteAllText(Path.Combine(source, "config.json"), "{}");
        File.CreateSymbolicLink(Path.Combine(source, "model.safetensors"), "/etc/passwd");

        var plan = ModelFolderCopy.Plan(source, relative => relative != "model.safetensors");

        Assert.Equal("config.json", Assert.Single(plan.Files).RelativePath);
    }

    private (string Source, string Weights, ModelFolderCopy Plan) Planned()
    {
        var source = Folder("m");
        var weights = Path.Combine(source, "model.safetensors");
        Weights(weights, rows: 1024);
        File.WriteAllText(Path.Combine(source, "config.json"), "{}");
        return (source, weights, ModelFolderCopy.Plan(source));
    }

    [Fact]
    public void A_weight_file_that_shrinks_between_plan_and_copy_is_refused_naming_the_source()
    {
        var (_, weights, plan) = Planned();
        using (var stream = new FileStream(weights, FileMode.Open, FileAccess.Write)) stream.SetLength(stream.Length - 4096);

        var error = Assert.Throws<SourceChangedException>(() => plan.CopyTo(Folder("out")));

        Assert.Equal("SourceChanged", error.ErrorId);
        Assert.Equal(weights, error.Target);
        Assert.Contains($"'{weights}' changed while it was being copied", error.Message);
        Assert.Contains("Nothing was written", error.Message);
    }

    [Fact]
    public void A_file_rewritten_in_place_with_the_same_size_is_refused()
    {
        var (source, _, plan) = Planned();
        Thread.Sleep(20); // past the file system's timestamp granularity
        File.WriteAllText(Path.Combine(source, "config.json"), "[]");

        var error = Assert.Throws<SourceChangedException>(() => plan.CopyTo(Folder("out")));
        Assert.Contains("config.json' changed while it was being copied: it was written to", error.Message);
    }

    [Fact]
    public void A_file_replaced_by_another_of_the_same_size_is_refused()
    {
        var (_, weights, plan) = Planned();
        var other = Path.Combine(_temp.Path, "other.safetensors");
        File.Copy(weights, other);
        File.SetLastWriteTimeUtc(other, File.GetLastWriteTimeUtc(weights));
        File.Move(other, weights, overwrite: true);

        var error = Assert.Throws<SourceChangedException>(() => plan.CopyTo(Folder("out")));
        Assert.Contains("replaced by another file", error.Message);
    }

    [Fact]
    public void A_safetensors_file_with_bytes_after_its_data_is_refused_when_planned()
    {
        var source = Folder("m");
        var weights = Path.Combine(source, "model.safetensors");
        Weights(weights);
        using (var stream = new FileStream(weights, FileMode.Append)) stream.Write(new byte[12]);

        var error = Assert.Throws<InvalidSafetensorsException>(() => ModelFolderCopy.Plan(source));
        Assert.Contains($"'{weights}' is not a valid safetensors file", error.Message);
        Assert.Contains("12 bytes follow the data", error.Message);
    }
}
