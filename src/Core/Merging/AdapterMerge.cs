using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Runtime;
using TrainableTokens.Core.Tuners;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Merging;

/// <summary>What to merge: adapters into a model folder, written as a new folder.</summary>
public sealed record AdapterMergeRequest(string ModelFolder, IReadOnlyList<string> AdapterFolders, string OutputPath)
{
    /// <summary>Refuse adapters with NaN or infinite rows, or LoRA merges with non-finite results (nothing is written).</summary>
    public bool SafeMerge { get; init; }
    /// <summary>Replace <see cref="OutputPath"/> if it exists.</summary>
    public bool Overwrite { get; init; }
    /// <summary>Test seam: called after each whole tensor (a LoRA target, a saved module) is computed and written, with its name.</summary>
    internal Action<string>? OnTensorWritten { get; init; }
}

/// <summary>One weight tensor whose rows a merge overwrites.</summary>
public sealed record MergedRows(string Adapter, string ModulePath, string Tensor, string File, string Dtype, IReadOnlyList<long> TokenIndices)
{
    public override string ToString() => $"{Tensor} ({Dtype}, {System.IO.Path.GetFileName(File)}) rows {string.Join(", ", TokenIndices)}";
}

/// <summary>One weight tensor a merge rewrites whole: W + scaling * B @ A for each LoRA adapter that targets it, or a module PEFT saved whole (modules_to_save).</summary>
public sealed record MergedTensor(IReadOnlyList<string> Adapters, string ModulePath, string Tensor, string File, string Dtype, string Change)
{
    public override string ToString() => $"{Tensor} ({Dtype}, {System.IO.Path.GetFileName(File)}) {Change}";
}

/// <summary>What a merge did (or, from <see cref="AdapterMerge.Plan"/>, would do).</summary>
public sealed record AdapterMergeResult(string OutputPath, IReadOnlyList<string> Adapters, IReadOnlyList<MergedRows> Changes, long BytesCopied, double Seconds)
{
    /// <summary>The tensors rewritten whole (LoRA targets, saved modules); empty for Trainable Tokens adapters.</summary>
    public IReadOnlyList<MergedTensor> Tensors { get; init; } = Array.Empty<MergedTensor>();
}

/// <summary>
/// Merges adapters into a Hugging Face model folder without loading the model: every file is copied, then the copy is
/// patched in place. Trainable Tokens rows (alone, or in a LoRA adapter's token_adapter) overwrite only their k rows;
/// a LoRA target is read, given W + scaling * B @ A, and written back, one tensor at a time, so memory stays near the
/// largest targeted tensor. All checks (targets, shapes, ids, overlaps, non-finite values) run before anything is
/// written, and the output folder appears complete or not at all.
/// </summary>
public static class AdapterMerge
{
    /// <summary>The command named in the output's marker: -Force replaces only folders it wrote.</summary>
    public const string Writer = "Merge-TokenAdapter";

    /// <summary>Checks everything and returns what <see cref="Run"/> would change, writing nothing. LoRA products are not
    /// computed here, so -SafeMerge's check of merged LoRA weights runs in <see cref="Run"/> (still before anything is written).</summary>
    public static AdapterMergeResult Plan(AdapterMergeRequest request) => Prepare(request, loadRows: false).Result;

    public static AdapterMergeResult Run(AdapterMergeRequest request)
    {
        var watch = Stopwatch.StartNew();
        var prepared = Prepare(request, loadRows: true);
        long copied = 0;
        try
        {
            if (request.SafeMerge && prepared.Updates.Count > 0)
            {
                // Every merged tensor is computed once to be checked, before the copy starts: a refusal writes nothing.
                using var source = Checkpoint.OpenFolder(request.ModelFolder);
                foreach (var update in prepared.Updates)
                {
                    using var scope = NewDisposeScope();
                    update.Compute(source, safe: true);
                }
            }
            AtomicFolder.Write(request.OutputPath, temp =>
            {
                // A throw in here (a source file that changed while it was copied) discards the whole temporary folder.
                copied = prepared.Copy.CopyTo(temp);
                foreach (var (change, rows) in prepared.Changes.Zip(prepared.Rows!))
                {
                    var file = prepared.CopiedWeights[change.File];
                    WriteRows(Path.Combine(temp, file.RelativePath), file, change, rows, prepared.RowInfo[change]);
                }
                if (prepared.Updates.Count == 0) return;
                using var source = Checkpoint.OpenFolder(request.ModelFolder);
                foreach (var update in prepared.Updates)
                {
                    var file = prepared.CopiedWeights[update.Target.File];
                    using (var scope = NewDisposeScope())
                    {
                        var merged = update.Compute(source, request.SafeMerge);
                        WriteTensor(Path.Combine(temp, file.RelativePath), file, update.Target, merged);
                    }
                    request.OnTensorWritten?.Invoke(update.Target.Name);
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
        IReadOnlyList<TensorUpdate> Updates, ModelFolderCopy Copy, Dictionary<string, PlannedFile> CopiedWeights);

    /// <summary>What the adapters of one merge change, gathered adapter by adapter and checked as it goes.</summary>
    internal sealed class Collector
    {
        public Collector(AdapterMergeRequest request, ModelConfig model, Checkpoint checkpoint, bool loadRows)
        {
            Request = request;
            Model = model;
            Checkpoint = checkpoint;
            LoadRows = loadRows;
            Embedding = ModelArchitectures.InputEmbeddingPath(model.ModelType);
            Head = ModelArchitectures.LmHeadPath(model.ModelType);
        }

        public AdapterMergeRequest Request { get; }
        public ModelConfig Model { get; }
        public Checkpoint Checkpoint { get; }
        public bool LoadRows { get; }
        public string Embedding { get; }
        public string Head { get; }
        public List<MergedRows> Changes { get; } = new();
        public Dictionary<MergedRows, SafetensorsTensorInfo> RowInfo { get; } = new();
        public List<Tensor> Rows { get; } = new();
        /// <summary>Whole-tensor rewrites by stored tensor name, in the order first planned.</summary>
        public Dictionary<string, TensorUpdate> Updates { get; } = new(StringComparer.Ordinal);
        // weight tensor -> id -> adapter
        private readonly Dictionary<string, Dictionary<long, string>> _owners = new(StringComparer.Ordinal);

        /// <summary>The stored name of <paramref name="module"/>'s weight (a tied head's is the embedding's).</summary>
        public string StoredWeight(string module, string adapter)
        {
            var weightName = module == Head && Model.TieWordEmbeddings ? Embedding + ".weight" : module + ".weight";
            return ModelLoader.StoredName(Checkpoint, weightName, Model.ModelType)
                ?? throw new InvalidModelFolderException($"'{Request.ModelFolder}': the checkpoint has no '{weightName}' for adapter '{adapter}' to merge into.", Request.ModelFolder);
        }

        /// <summary>Plans writing <paramref name="delta"/>'s k rows into <paramref name="module"/>'s weight at <paramref name="ids"/>, with every check of a row merge.</summary>
        public void AddRows(string name, string folder, SafetensorsFile weights, string module, SafetensorsTensorInfo delta, IReadOnlyList<long> ids)
        {
            var stored = StoredWeight(module, name);
            var target = Checkpoint.Info(stored);
            if (target.Shape.Length != 2 || delta.Shape.Length != 2 || delta.Shape[0] != ids.Count || delta.Shape[1] != target.Shape[1])
                throw new InvalidAdapterException(
                    $"'{weights.Path}': '{delta.Name}' has shape [{string.Join(", ", delta.Shape)}]; merging {ids.Count} tokens into " +
                    $"'{stored}' [{string.Join(", ", target.Shape)}] needs [{ids.Count}, {(target.Shape.Length == 2 ? target.Shape[1] : 0)}].", weights.Path);
            CheckMergeable(target, stored, "take merged rows");
            var outside = ids.Where(i => i < 0 || i >= target.Shape[0]).ToList();
            if (outside.Count > 0)
                throw new InvalidAdapterException(
                    $"Adapter '{folder}': token indices {string.Join(", ", outside.Take(10))} are outside '{stored}' (rows 0 to {target.Shape[0] - 1}). " +
                    "The adapter was trained for a model with a larger vocabulary: resize this model first.", folder);
            if (Updates.ContainsKey(stored))
                throw new InvalidAdapterException(
                    $"Adapter '{folder}': '{stored}' gets token rows, but an adapter also replaces or changes that whole tensor (modules_to_save or LoRA). Merge them separately.", folder);
            var taken = _owners.TryGetValue(stored, out var t) ? t : _owners[stored] = new Dictionary<long, string>();
            var overlap = ids.Where(taken.ContainsKey).ToList();
            if (overlap.Count > 0) throw new AdapterConflictException(name, taken[overlap[0]], overlap);
            foreach (var id in ids) taken[id] = name;

            AdapterFolder.CheckFloat(weights, delta);
            if (LoadRows || Request.SafeMerge)
            {
                var values = weights.Load(delta.Name);
                if (Request.SafeMerge && !values.isfinite().all().item<bool>())
                {
                    values.Dispose();
                    throw new InvalidAdapterException($"Adapter '{folder}' has NaN or infinite values in '{delta.Name}'; nothing was written. Retrain the adapter.", weights.Path);
                }
                if (LoadRows) Rows.Add(values.to(target.DType.ToScalarType()).contiguous());
                else values.Dispose();
            }
            var change = new MergedRows(name, module, stored, target.File, target.DType.ToString(), ids);
            Changes.Add(change);
            RowInfo[change] = target;
            // Some tied checkpoints also store the head (Qwen3-0.6B's lm_head.weight): transformers ignores that
            // copy, but other readers may not, so it takes the same rows and stays equal to the embedding.
            if (TiedHeadCopy(module, stored) is { } copyInfo)
            {
                var copyChange = new MergedRows(name, Head, copyInfo.Name, copyInfo.File, copyInfo.DType.ToString(), ids);
                Changes.Add(copyChange);
                RowInfo[copyChange] = copyInfo;
                if (LoadRows) Rows.Add(Rows[^1].clone());
            }
        }

        /// <summary>A tied model's stored second head tensor, when <paramref name="module"/> writes into the embedding and the checkpoint has such a copy of the same shape and dtype.</summary>
        public SafetensorsTensorInfo? TiedHeadCopy(string module, string stored)
        {
            if (!Model.TieWordEmbeddings || (module != Embedding && module != Head)) return null;
            var target = Checkpoint.Info(stored);
            return ModelLoader.StoredName(Checkpoint, Head + ".weight", Model.ModelType) is { } copyName && copyName != stored
                && Checkpoint.Info(copyName) is var copyInfo && copyInfo.Shape.SequenceEqual(target.Shape) && copyInfo.DType == target.DType
                ? copyInfo : null;
        }

        /// <summary>Plans one whole-tensor step on <paramref name="stored"/> (steps on the same tensor apply in order).</summary>
        public void AddStep(string adapter, string folder, string module, string stored, TensorStep step)
        {
            var target = Checkpoint.Info(stored);
            CheckMergeable(target, stored, "be merged into");
            if (_owners.ContainsKey(stored))
                throw new InvalidAdapterException(
                    $"Adapter '{folder}': '{stored}' is changed whole (modules_to_save or LoRA), but an adapter also writes token rows into it. Merge them separately.", folder);
            if (!Updates.TryGetValue(stored, out var update)) Updates[stored] = update = new TensorUpdate(module, target);
            else if (step is ReplaceStep || update.Steps.Any(s => s is ReplaceStep))
                throw new InvalidAdapterException(
                    $"Adapter '{folder}': '{stored}' is saved whole (modules_to_save) by one adapter and changed by another; merging both would lose one of them. Merge them separately.", folder);
            update.Steps.Add(step);
            if (!update.Adapters.Contains(adapter)) update.Adapters.Add(adapter);
        }

        private static void CheckMergeable(SafetensorsTensorInfo target, string stored, string what)
        {
            if (target.DType is not (SafetensorsDType.F32 or SafetensorsDType.BF16 or SafetensorsDType.F16))
                throw new InvalidModelFolderException($"'{target.File}': '{stored}' is {target.DType}; only F32, BF16 and F16 weights can {what}.", target.File);
        }

        public void DisposeRows()
        {
            foreach (var r in Rows) r.Dispose();
            Rows.Clear();
        }
    }

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

        var collect = new Collector(request, model, checkpoint, loadRows);
        var names = new List<string>();
        try
        {
            foreach (var folder in request.AdapterFolders)
            {
                var name = Path.GetFileName(Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar));
                names.Add(name);
                if (PeftAdapter.MethodOf(folder) == PeftMethod.Lora) LoraMergePlan.Add(collect, name, folder);
                else AddTrainableTokens(collect, name, folder);
            }
            // Walked before anything is written (and under -WhatIf): links out of the folder are refused here.
            var copy = ModelFolderCopy.Plan(request.ModelFolder);
            var files = collect.Changes.Select(c => c.File).Concat(collect.Updates.Values.Select(u => u.Target.File)).Distinct()
                .ToDictionary(f => f, f => copy.Find(Path.GetRelativePath(modelFull, f))
                    ?? throw new InvalidOperationException($"'{f}' is not among the files planned for copying from '{modelFull}'."));
            var updates = collect.Updates.Values.ToList();
            var result = new AdapterMergeResult(outFull, names, collect.Changes, 0, 0) { Tensors = updates.Select(u => u.Describe()).ToList() };
            return new Prepared(result, collect.Changes, loadRows ? collect.Rows : null, collect.RowInfo, updates, copy, files);
        }
        catch
        {
            collect.DisposeRows();
            throw;
        }
    }

    /// <summary>What keeps the LoRA adapter in <paramref name="adapterFolder"/> from fitting the model (empty when it fits),
    /// from the headers alone: the checks of a merge plan, without loading or writing anything.</summary>
    internal static IReadOnlyList<string> LoraProblems(string adapterFolder, string modelFolder, ModelConfig model)
    {
        using var checkpoint = Checkpoint.OpenFolder(modelFolder);
        var collect = new Collector(new AdapterMergeRequest(modelFolder, [adapterFolder], ""), model, checkpoint, loadRows: false);
        try
        {
            LoraMergePlan.Add(collect, Path.GetFileName(Path.GetFullPath(adapterFolder).TrimEnd(Path.DirectorySeparatorChar)), adapterFolder);
            return [];
        }
        catch (InvalidAdapterException e)
        {
            return [e.Message];
        }
    }

    private static void AddTrainableTokens(Collector collect, string name, string folder)
    {
        var model = collect.Model;
        var config = AdapterFolder.ReadConfig(folder);
        using var weights = AdapterFolder.OpenWeights(folder);
        // The same rule as training and loading: target_modules says which layers have rows of their own;
        // a tied head's copy (PEFT 0.20+) must repeat the embedding's rows; any other entry is refused.
        var targets = TokenTargets.Resolve(config.TargetModules, collect.Embedding, collect.Head, model.TieWordEmbeddings)
            ?? throw new InvalidAdapterException(
                $"Adapter '{folder}': target_modules {config.TargetModules} matches neither of this {model.ModelType} model's embedding modules ({collect.Embedding}, {collect.Head}).", folder);
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
        if (targets.HeadFollowsEmbedding && AdapterFolder.FindRows(weights, collect.Head) is { } headCopy)
        {
            AdapterFolder.CheckSameRows(weights, headCopy, deltas[0].Delta, "the model ties its LM head to the embedding");
            expected.Add(headCopy.Name);
        }
        var stray = weights.Tensors.Where(t => AdapterFolder.ModulePathOf(t.Name) is not null && !expected.Contains(t.Name)).Select(t => t.Name).ToList();
        if (stray.Count > 0)
            throw new InvalidAdapterException(
                $"'{weights.Path}' has rows for modules this adapter does not target on this model: {string.Join(", ", stray.Take(5))} " +
                $"(target_modules is {config.TargetModules?.ToString() ?? "the input embedding"}). Remove them, or name the modules in target_modules.", weights.Path);
        foreach (var (module, delta) in deltas) collect.AddRows(name, folder, weights, module, delta, config.TokenIndices);
    }

    /// <summary>
    /// The copy's own header is read first and must place the tensor where the plan found it, so bytes are never
    /// written at offsets of a file that changed since.
    /// </summary>
    private static FileStream OpenChecked(string file, PlannedFile source, string tensor, SafetensorsTensorInfo target)
    {
        var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        try
        {
            SafetensorsHeader header;
            try
            {
                header = SafetensorsHeader.Read(file, stream.SafeFileHandle, stream.Length);
            }
            catch (InvalidSafetensorsException e)
            {
                throw ModelFolderCopy.Changed(source, $"its copy is not a valid safetensors file ({e.Message})", e);
            }
            var copied = header.Tensors.FirstOrDefault(t => t.Name == tensor);
            if (copied is null || copied.DType != target.DType || !copied.Shape.SequenceEqual(target.Shape) || copied.Begin != target.Begin || copied.End != target.End)
                throw ModelFolderCopy.Changed(source,
                    $"tensor '{tensor}' was {target.DType} {SafetensorsHeader.FormatShape(target.Shape)} at bytes {target.Begin}..{target.End} when the merge was planned, " +
                    (copied is null ? "and the copy has no such tensor" : $"and is {copied.DType} {SafetensorsHeader.FormatShape(copied.Shape)} at bytes {copied.Begin}..{copied.End} in the copy"));
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Overwrites the rows of one tensor in place in the copy: one seek and write per row, nothing else in the file moves.</summary>
    private static void WriteRows(string file, PlannedFile source, MergedRows change, Tensor rows, SafetensorsTensorInfo target)
    {
        long rowBytes = target.Shape[1] * target.DType.ElementSize();
        var bytes = rows.bytes.ToArray();
        using var stream = OpenChecked(file, source, change.Tensor, target);
        for (int i = 0; i < change.TokenIndices.Count; i++)
        {
            stream.Position = target.Begin + change.TokenIndices[i] * rowBytes;
            stream.Write(bytes, (int)(i * rowBytes), (int)rowBytes);
        }
        // No fsync: that would force the whole copied checkpoint to disk and make the merge far slower than a copy.
        // Atomicity comes from the folder rename, which happens only after every row is written.
    }

    /// <summary>Overwrites one whole tensor in place in the copy (same dtype and shape, so nothing else in the file moves).</summary>
    private static void WriteTensor(string file, PlannedFile source, SafetensorsTensorInfo target, Tensor merged)
    {
        if (merged.NumberOfElements * merged.ElementSize != target.ByteLength)
            throw new InvalidOperationException($"The merged '{target.Name}' has {merged.NumberOfElements * merged.ElementSize} bytes; the file holds {target.ByteLength}.");
        using var stream = OpenChecked(file, source, target.Name, target);
        stream.Position = target.Begin;
        TensorMemory.WriteTo(merged, stream);
    }
}
