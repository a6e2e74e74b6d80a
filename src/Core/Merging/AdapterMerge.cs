using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Runtime;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Merging;

/// <summary>What to merge: adapters into a model folder, written as a new folder.</summary>
public sealed record AdapterMergeRequest(string ModelFolder, IReadOnlyList<string> AdapterFolders, string OutputPath)
{
    /// <summary>Refuse adapters with NaN or infinite rows (nothing is written).</summary>
    public bool SafeMerge { get; init; }
    /// <summary>Replace <see cref="OutputPath"/> if it exists.</summary>
    public bool Overwrite { get; init; }
}

/// <summary>One weight tensor whose rows a merge overwrites.</summary>
public sealed record MergedRows(string Adapter, string ModulePath, string Tensor, string File, string Dtype, IReadOnlyList<long> TokenIndices)
{
    public override string ToString() => $"{Tensor} ({Dtype}, {System.IO.Path.GetFileName(File)}) rows {string.Join(", ", TokenIndices)}";
}

/// <summary>What a merge did (or, from <see cref="AdapterMerge.Plan"/>, would do).</summary>
public sealed record AdapterMergeResult(string OutputPath, IReadOnlyList<string> Adapters, IReadOnlyList<MergedRows> Changes, long BytesCopied, double Seconds);

/// <summary>
/// Merges Trainable Tokens adapters into a Hugging Face model folder without loading the model: every file is
/// copied, then only the k rows of each targeted weight are overwritten in place in the copy. Time is about that of
/// a file copy, memory about k x hidden. All checks (targets, shapes, ids, overlaps, non-finite rows) run before
/// anything is written, and the output folder appears complete or not at all.
/// </summary>
public static class AdapterMerge
{
    /// <summary>The command named in the output's marker: -Force replaces only folders it wrote.</summary>
    public const string Writer = "Merge-TokenAdapter";

    /// <summary>Checks everything and returns what <see cref="Run"/> would change, writing nothing.</summary>
    public static AdapterMergeResult Plan(AdapterMergeRequest request) => Prepare(request, loadRows: false).Result;

    public static AdapterMergeResult Run(AdapterMergeRequest request)
    {
        var watch = Stopwatch.StartNew();
        var prepared = Prepare(request, loadRows: true);
        long copied = 0;
        try
        {
            AtomicFolder.Write(request.OutputPath, temp =>
            {
                // A throw in here (a source file that changed while it was copied) discards the whole temporary folder.
                copied = prepared.Copy.CopyTo(temp);
                foreach (var (change, rows) in prepared.Changes.Zip(prepared.Rows!))
                {
                    var file = prepared.CopiedWeights[change];
                    WriteRows(Path.Combine(temp, file.RelativePath), file, change, rows, prepared.RowInfo[change]);
                }
            }, request.Overwrite, Writer);
        }
        finally
        {
            foreach (var r in prepared.Rows!) r.Dispose();
        }
        return prepared.Result with { BytesCopied = copied, Seconds = watch.Elapsed.TotalSeconds };
    }

    private sealed record Prepared(AdapterMergeResult Result, IReadOnlyList<MergedRows> Changes, List<Tensor>? Rows, Dictionary<MergedRows, SafetensorsTensorInfo> RowInfo,
        ModelFolderCopy Copy, Dictionary<MergedRows, PlannedFile> CopiedWeights);

    private static Prepared Prepare(AdapterMergeRequest request, bool loadRows)
    {
        TorchRuntime.EnsureLoaded();
        if (request.AdapterFolders.Count == 0) throw new ArgumentException("Give at least one adapter folder.", nameof(request));
        var model = ModelConfigReader.ReadFolder(request.ModelFolder);
        using var checkpoint = Checkpoint.OpenFolder(request.ModelFolder);
        var outFull = Path.GetFullPath(request.OutputPath).TrimEnd(Path.DirectorySeparatorChar);
        var modelFull = Path.GetFullPath(request.ModelFolder).TrimEnd(Path.DirectorySeparatorChar);
        OutputGuard.EnsureApart(outFull, "-OutputPath",
            request.AdapterFolders.Select(a => new CommandInput("adapter folder", a)).Prepend(new CommandInput("model folder", modelFull)));
        AtomicFolder.EnsureWritable(outFull, request.Overwrite, Writer);

        var embedding = ModelArchitectures.InputEmbeddingPath(model.ModelType);
        var head = ModelArchitectures.LmHeadPath(model.ModelType);
        var changes = new List<MergedRows>();
        var rowInfo = new Dictionary<MergedRows, SafetensorsTensorInfo>();
        var rows = loadRows ? new List<Tensor>() : null;
        var owners = new Dictionary<string, Dictionary<long, string>>(StringComparer.Ordinal); // weight tensor -> id -> adapter
        var names = new List<string>();
        try
        {
            foreach (var folder in request.AdapterFolders)
            {
                var name = Path.GetFileName(Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar));
                names.Add(name);
                var config = AdapterFolder.ReadConfig(folder);
                using var weights = AdapterFolder.OpenWeights(folder);
                // The same rule as training and loading: target_modules says which layers have rows of their own;
                // a tied head's copy (PEFT 0.20+) must repeat the embedding's rows; any other entry is refused.
                var targets = TokenTargets.Resolve(config.TargetModules, embedding, head, model.TieWordEmbeddings)
                    ?? throw new InvalidAdapterException(
                        $"Adapter '{folder}': target_modules {config.TargetModules} matches neither of this {model.ModelType} model's embedding modules ({embedding}, {head}).", folder);
                var expected = new HashSet<string>(StringComparer.Ordinal);
                var deltas = new List<(string Module, SafetensorsTensorInfo Delta)>();
                foreach (var layer in targets.Layers)
                {
                    var found = AdapterFolder.FindRows(weights, layer)
                        ?? throw new InvalidAdapterException(
                            $"'{weights.Path}' has no tensor '{AdapterFolder.KeyFor(layer)}' for the targeted module {layer} (target_modules is {config.TargetModules?.ToString() ?? "the input embedding"}). " +
                            $"It holds: {string.Join(", ", weights.Tensors.Take(5).Select(t => t.Name))}{(weights.Tensors.Count > 5 ? $" and {weights.Tensors.Count - 5} more" : "")}.", weights.Path);
                    expected.Add(found.Name);
                    deltas.Add((layer, found));
                }
                if (targets.HeadFollowsEmbedding && AdapterFolder.FindRows(weights, head) is { } headCopy)
                {
                    AdapterFolder.CheckSameRows(weights, headCopy, deltas[0].Delta, "the model ties its LM head to the embedding");
                    expected.Add(headCopy.Name);
                }
                var stray = weights.Tensors.Where(t => AdapterFolder.ModulePathOf(t.Name) is not null && !expected.Contains(t.Name)).Select(t => t.Name).ToList();
                if (stray.Count > 0)
                    throw new InvalidAdapterException(
                        $"'{weights.Path}' has rows for modules this adapter does not target on this model: {string.Join(", ", stray.Take(5))} " +
                        $"(target_modules is {config.TargetModules?.ToString() ?? "the input embedding"}). Remove them, or name the modules in target_modules.", weights.Path);
                foreach (var (module, delta) in deltas)
                {
                    // A tied head is the embedding tensor itself.
                    var weightName = module == head && model.TieWordEmbeddings ? embedding + ".weight" : module + ".weight";
                    var stored = ModelLoader.StoredName(checkpoint, weightName, model.ModelType)
                        ?? throw new InvalidModelFolderException($"'{request.ModelFolder}': the checkpoint has no '{weightName}' for adapter '{name}' to merge into.", request.ModelFolder);
                    var target = checkpoint.Info(stored);
                    if (target.Shape.Length != 2 || delta.Shape.Length != 2 || delta.Shape[0] != config.TokenIndices.Count || delta.Shape[1] != target.Shape[1])
                        throw new InvalidAdapterException(
                            $"'{weights.Path}': '{delta.Name}' has shape [{string.Join(", ", delta.Shape)}]; merging {config.TokenIndices.Count} tokens into " +
                            $"'{stored}' [{string.Join(", ", target.Shape)}] needs [{config.TokenIndices.Count}, {(target.Shape.Length == 2 ? target.Shape[1] : 0)}].", weights.Path);
                    if (target.DType is not (SafetensorsDType.F32 or SafetensorsDType.BF16 or SafetensorsDType.F16))
                        throw new InvalidModelFolderException($"'{target.File}': '{stored}' is {target.DType}; only F32, BF16 and F16 weights can take merged rows.", target.File);
                    var outside = config.TokenIndices.Where(i => i < 0 || i >= target.Shape[0]).ToList();
                    if (outside.Count > 0)
                        throw new InvalidAdapterException(
                            $"Adapter '{folder}': token indices {string.Join(", ", outside.Take(10))} are outside '{stored}' (rows 0 to {target.Shape[0] - 1}). " +
                            "The adapter was trained for a model with a larger vocabulary: resize this model first.", folder);
                    var taken = owners.TryGetValue(stored, out var t) ? t : owners[stored] = new Dictionary<long, string>();
                    var overlap = config.TokenIndices.Where(taken.ContainsKey).ToList();
                    if (overlap.Count > 0) throw new AdapterConflictException(name, taken[overlap[0]], overlap);
                    foreach (var id in config.TokenIndices) taken[id] = name;

                    AdapterFolder.CheckFloat(weights, delta);
                    if (loadRows || request.SafeMerge)
                    {
                        var values = weights.Load(delta.Name);
                        if (request.SafeMerge && !values.isfinite().all().item<bool>())
                        {
                            values.Dispose();
                            throw new InvalidAdapterException($"Adapter '{folder}' has NaN or infinite values in '{delta.Name}'; nothing was written. Retrain the adapter.", weights.Path);
                        }
                        if (loadRows) rows!.Add(values.to(target.DType.ToScalarType()).contiguous());
                        else values.Dispose();
                    }
                    var change = new MergedRows(name, module, stored, target.File, target.DType.ToString(), config.TokenIndices);
                    changes.Add(change);
                    rowInfo[change] = target;
                    // Some tied checkpoints also store the head (Qwen3-0.6B's lm_head.weight): transformers ignores that
                    // copy, but other readers may not, so it takes the same rows and stays equal to the embedding.
                    if (module == embedding && model.TieWordEmbeddings
                        && ModelLoader.StoredName(checkpoint, head + ".weight", model.ModelType) is { } copyName && copyName != stored
                        && checkpoint.Info(copyName) is var copyInfo && copyInfo.Shape.SequenceEqual(target.Shape) && copyInfo.DType == target.DType)
                    {
                        var copyChange = new MergedRows(name, head, copyName, copyInfo.File, copyInfo.DType.ToString(), config.TokenIndices);
                        changes.Add(copyChange);
                        rowInfo[copyChange] = copyInfo;
                        if (loadRows) rows!.Add(rows![^1].clone());
                    }
                }
            }
            // Walked before anything is written (and under -WhatIf): links out of the folder are refused here.
            var copy = ModelFolderCopy.Plan(request.ModelFolder);
            var copiedWeights = changes.ToDictionary(c => c, c => copy.Find(Path.GetRelativePath(modelFull, c.File))
                ?? throw new InvalidOperationException($"'{c.File}' is not among the files planned for copying from '{modelFull}'."));
            return new Prepared(new AdapterMergeResult(outFull, names, changes, 0, 0), changes, rows, rowInfo, copy, copiedWeights);
        }
        catch
        {
            if (rows is not null) foreach (var r in rows) r.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Overwrites the rows of one tensor in place in the copy: one seek and write per row, nothing else in the file
    /// moves. The copy's own header is read first and must place the tensor where the plan found it, so rows are
    /// never written at offsets of a file that changed since.
    /// </summary>
    private static void WriteRows(string file, PlannedFile source, MergedRows change, Tensor rows, SafetensorsTensorInfo target)
    {
        long rowBytes = target.Shape[1] * target.DType.ElementSize();
        var bytes = rows.bytes.ToArray();
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        var length = stream.Length;
        SafetensorsHeader header;
        try
        {
            header = SafetensorsHeader.Read(file, stream.SafeFileHandle, length);
        }
        catch (InvalidSafetensorsException e)
        {
            throw ModelFolderCopy.Changed(source, $"its copy is not a valid safetensors file ({e.Message})", e);
        }
        var copied = header.Tensors.FirstOrDefault(t => t.Name == change.Tensor);
        if (copied is null || copied.DType != target.DType || !copied.Shape.SequenceEqual(target.Shape) || copied.Begin != target.Begin || copied.End != target.End)
            throw ModelFolderCopy.Changed(source,
                $"tensor '{change.Tensor}' was {target.DType} {SafetensorsHeader.FormatShape(target.Shape)} at bytes {target.Begin}..{target.End} when the merge was planned, " +
                (copied is null ? "and the copy has no such tensor" : $"and is {copied.DType} {SafetensorsHeader.FormatShape(copied.Shape)} at bytes {copied.Begin}..{copied.End} in the copy"));
        for (int i = 0; i < change.TokenIndices.Count; i++)
        {
            stream.Position = target.Begin + change.TokenIndices[i] * rowBytes;
            stream.Write(bytes, (int)(i * rowBytes), (int)rowBytes);
        }
        // No fsync: that would force the whole copied checkpoint to disk and make the merge far slower than a copy.
        // Atomicity comes from the folder rename, which happens only after every row is written.
    }
}
