using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace TrainableTokens.Core.IO;

/// <summary>
/// Copies a model or tokenizer folder into a new (temporary) folder and proves the copy is the folder that was
/// planned. <see cref="Plan"/> walks the folder before anything is written: it refuses symbolic links that lead out
/// of it (a <c>README.md</c> linked to <c>/etc/passwd</c> must not land in the output), broken links, loops and
/// non-regular files, records each file's size and stamp, and checks every <c>*.safetensors</c> header.
/// <see cref="CopyTo"/> then copies and verifies each file: its size is the planned size, the source did not change
/// meanwhile, and a copied safetensors file has a valid header whose data ends exactly at the end of the copy.
/// Links whose target lies inside the folder are followed and copied as real files, and so are the links of a Hugging
/// Face cache snapshot (<c>models--org--name/snapshots/REV/*</c> pointing into <c>models--org--name/blobs/</c>).
/// A limit: a file of another kind caught halfway through someone else's write, and left so for the whole copy,
/// cannot be told from a shorter file; a safetensors file can, as its header says where its data ends.
/// </summary>
internal sealed class ModelFolderCopy
{
    /// <summary>Problems named in one error; the rest are counted.</summary>
    private const int ProblemsShown = 3;

    private readonly Dictionary<string, PlannedFile> _byPath;

    private ModelFolderCopy(string folder, List<string> folders, List<PlannedFile> files)
    {
        Folder = folder;
        Folders = folders;
        Files = files;
        _byPath = files.ToDictionary(f => f.RelativePath, StringComparer.Ordinal);
    }

    /// <summary>The folder as given (full path, links not resolved), for messages.</summary>
    public string Folder { get; }

    /// <summary>Sub-folders to create, relative to the folder, parents first.</summary>
    public IReadOnlyList<string> Folders { get; }

    /// <summary>Files to copy, relative to the folder.</summary>
    public IReadOnlyList<PlannedFile> Files { get; }

    /// <summary>Total bytes of <see cref="Files"/>.</summary>
    public long Bytes => Files.Sum(f => f.Length);

    /// <summary>The planned file at <paramref name="relativePath"/>, or null when it is not copied.</summary>
    public PlannedFile? Find(string relativePath) => _byPath.GetValueOrDefault(relativePath);

    /// <summary>
    /// Walks <paramref name="folder"/> and plans a copy of every file that <paramref name="include"/> accepts (given
    /// the path relative to the folder; all files when null). Throws <see cref="UncopyableFileException"/> for a link
    /// out of the folder and other entries that cannot be copied, and <see cref="InvalidSafetensorsException"/> for a
    /// damaged safetensors file; nothing is written either way.
    /// </summary>
    public static ModelFolderCopy Plan(string folder, Func<string, bool>? include = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        if (!Directory.Exists(full))
            throw new DirectoryNotFoundException($"The folder '{full}' does not exist. Check the path.");
        var walk = new Walk(full, RealPath.Of(full), include);
        walk.Folder(walk.RootReal, "", new List<string> { walk.RootReal });
        if (walk.Problems.Count > 0)
        {
            var shown = string.Join(" ", walk.Problems.Take(ProblemsShown).Select(p => p.Message));
            var rest = walk.Problems.Count > ProblemsShown ? $" ({walk.Problems.Count - ProblemsShown} more like these.)" : "";
            throw new UncopyableFileException($"'{full}' cannot be copied safely; nothing was written. {shown}{rest}", walk.Problems[0].Path);
        }
        return new ModelFolderCopy(full, walk.Folders, walk.Files);
    }

    /// <summary>
    /// Copies the planned files into <paramref name="target"/> (an existing, empty folder) and verifies each copy.
    /// Throws <see cref="SourceChangedException"/> naming the source file when a file changed after it was planned;
    /// the caller discards <paramref name="target"/> then. Returns the bytes copied.
    /// </summary>
    public long CopyTo(string target)
    {
        foreach (var folder in Folders) Directory.CreateDirectory(Path.Combine(target, folder));
        long bytes = 0;
        foreach (var file in Files)
        {
            var destination = Path.Combine(target, file.RelativePath);
            File.Copy(file.ReadFrom, destination);
            Verify(file, destination);
            bytes += file.Length;
        }
        return bytes;
    }

    private static void Verify(PlannedFile file, string copy)
    {
        var now = FileStamp.Of(file.ReadFrom);
        var copied = new FileInfo(copy).Length;
        if (now.Size != file.Length || copied != file.Length)
            throw Changed(file, $"it had {file.Length} bytes when the copy was planned, {now.Size} bytes now, and the copy got {copied}");
        if (now != file.Stamp)
            throw Changed(file, now.Inode != file.Stamp.Inode || now.Device != file.Stamp.Device
                ? "it was replaced by another file while it was copied"
                : "it was written to while it was copied");
        if (file.SafetensorsDataEnd is not { } planned) return;
        SafetensorsHeader header;
        using (var handle = File.OpenHandle(copy))
        {
            try
            {
                header = SafetensorsHeader.Read(copy, handle, copied);
            }
            catch (InvalidSafetensorsException e)
            {
                throw Changed(file, $"its copy is not a valid safetensors file ({e.Message})", e);
            }
        }
        var end = DataEnd(header);
        if (end != planned || end != copied)
            throw Changed(file, $"its copy's header says the data ends at byte {end}, the planned file's at byte {planned}, and the copy has {copied} bytes");
    }

    /// <summary>Where a safetensors file's data ends: past its last tensor (the header's end when it holds none).</summary>
    internal static long DataEnd(SafetensorsHeader header) =>
        header.Tensors.Count == 0 ? header.DataStart : Math.Max(header.DataStart, header.Tensors.Max(t => t.End));

    internal static SourceChangedException Changed(PlannedFile file, string what, Exception? inner = null) =>
        new($"'{file.SourcePath}' changed while it was being copied: {what}. Nothing was written. " +
            "Make sure nothing else writes the folder (a download, a sync or another run), then run the command again.", file.SourcePath, inner);

    /// <summary>One walk of the folder: what to create and copy, and every problem found.</summary>
    private sealed class Walk(string root, string rootReal, Func<string, bool>? include)
    {
        public string RootReal { get; } = rootReal;
        private readonly string? _cacheBlobs = CacheBlobs(rootReal);
        public List<string> Folders { get; } = new();
        public List<PlannedFile> Files { get; } = new();
        public List<(string Path, string Message)> Problems { get; } = new();

        /// <summary>Plans folder <paramref name="real"/> (a real path), copied to <paramref name="relative"/>.
        /// <paramref name="chain"/> holds the real paths of the folders above it, to find loops of links.</summary>
        public void Folder(string real, string relative, List<string> chain)
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(real).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(entry);
                var rel = relative.Length == 0 ? name : Path.Combine(relative, name);
                var shown = Path.Combine(root, rel);
                var kind = FileKind.Of(entry, followLinks: false);
                if (kind == FileKindValue.SymbolicLink)
                {
                    Link(entry, rel, shown, chain);
                    continue;
                }
                Entry(entry, kind, rel, shown, chain, linkedFrom: null);
            }
        }

        private void Link(string entry, string rel, string shown, List<string> chain)
        {
            var target = new FileInfo(entry).LinkTarget ?? "?";
            string real;
            try
            {
                real = IO.RealPath.Of(entry);
            }
            catch (IOException)
            {
                Problem(shown, $"'{shown}' is a symbolic link to '{target}' that leads into a loop of links; remove the link.");
                return;
            }
            var kind = FileKind.Of(real);
            if (kind == FileKindValue.Missing)
            {
                if (Included(rel)) Problem(shown, $"'{shown}' is a symbolic link to '{target}', which does not exist; remove the link or restore the file it points to.");
                return;
            }
            if (!IO.RealPath.IsInside(real, RootReal) && !(_cacheBlobs is not null && IO.RealPath.IsInside(real, _cacheBlobs)))
            {
                if (kind == FileKindValue.Directory || Included(rel))
                    Problem(shown, $"'{shown}' is a symbolic link to '{target}' ({real}), outside the folder. Links out of the folder are not followed, " +
                        $"so that nothing outside it is copied into the output: copy the {(kind == FileKindValue.Directory ? "folder" : "file")} into the folder in place of the link, or remove the link.");
                return;
            }
            Entry(real, kind, rel, shown, chain, linkedFrom: target);
        }

        private void Entry(string real, FileKindValue kind, string rel, string shown, List<string> chain, string? linkedFrom)
        {
            switch (kind)
            {
                case FileKindValue.Directory:
                    if (chain.Any(above => IO.RealPath.IsInside(above, real)))
                    {
                        Problem(shown, $"'{shown}' is a symbolic link to '{linkedFrom}', a folder that contains it, so copying it would never end; remove the link.");
                        return;
                    }
                    Folders.Add(rel);
                    Folder(real, rel, new List<string>(chain) { real });
                    return;
                case FileKindValue.Regular:
                    if (!Included(rel)) return;
                    var stamp = FileStamp.Of(real);
                    Files.Add(new PlannedFile(rel, shown, real, stamp, IsSafetensors(rel) ? SafetensorsEnd(shown, real, stamp.Size) : null));
                    return;
                default:
                    if (Included(rel))
                        Problem(shown, $"'{shown}' is {FileKind.Describe(kind)}, not a regular file or folder, so it cannot be copied; remove it from the folder.");
                    return;
            }
        }

        private bool Included(string rel) => include is null || include(rel);

        private void Problem(string path, string message) => Problems.Add((path, message));

        /// <summary>
        /// The <c>blobs</c> folder of the Hugging Face cache repository whose snapshot holds <paramref name="rootReal"/>
        /// (the folder itself or one above it is <c>.../snapshots/REV</c>, and <c>.../blobs</c> exists beside
        /// <c>snapshots</c>); null when the folder is not in such a cache.
        /// </summary>
        private static string? CacheBlobs(string rootReal)
        {
            for (var folder = rootReal; Path.GetDirectoryName(folder) is { } parent; folder = parent)
            {
                if (Path.GetFileName(parent) != "snapshots") continue;
                var repository = Path.GetDirectoryName(parent);
                if (repository is null) return null;
                var blobs = Path.Combine(repository, "blobs");
                return Directory.Exists(blobs) ? IO.RealPath.Of(blobs) : null;
            }
            return null;
        }
    }

    private static bool IsSafetensors(string path) => path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);

    /// <summary>Checks a source safetensors file's header and that its data fills the file exactly, as the reference
    /// reader requires; returns where the data ends.</summary>
    private static long SafetensorsEnd(string shown, string real, long length)
    {
        using var handle = File.OpenHandle(real);
        var header = SafetensorsHeader.Read(shown, handle, length);
        var end = DataEnd(header);
        if (end != length)
            throw new InvalidSafetensorsException(
                $"'{shown}' is not a valid safetensors file: its last tensor ends at byte {end} but the file has {length} bytes " +
                $"({length - end} bytes follow the data). The file is damaged or was written by a faulty tool; download or export it again.", shown);
        return end;
    }
}

/// <summary>One file of a planned copy: where it goes, where it is read from, and what it was when planned.</summary>
/// <param name="RelativePath">The path in the copy, relative to the folder.</param>
/// <param name="SourcePath">The path in the folder as the user sees it (a link's own path), for messages.</param>
/// <param name="ReadFrom">The real path whose bytes are copied (links resolved when the copy was planned).</param>
/// <param name="Stamp">The file's state when planned.</param>
/// <param name="SafetensorsDataEnd">For a <c>*.safetensors</c> file, where its data ends (its length).</param>
internal sealed record PlannedFile(string RelativePath, string SourcePath, string ReadFrom, FileStamp Stamp, long? SafetensorsDataEnd)
{
    public long Length => Stamp.Size;
}
