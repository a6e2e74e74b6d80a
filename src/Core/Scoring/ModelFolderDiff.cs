using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Scoring;

/// <summary>A tensor that differs between two model folders: the rows (first index) that differ, or the whole tensor
/// when it has fewer than two dimensions or a different dtype or shape.</summary>
public sealed record ChangedTensor(string Name, IReadOnlyList<long> Rows, bool Whole)
{
    public override string ToString() => Whole ? $"{Name} (whole)" : $"{Name} rows {string.Join(", ", Rows.Take(10))}{(Rows.Count > 10 ? $" and {Rows.Count - 10} more" : "")}";
}

/// <summary>How a model folder differs from a base one, compared byte for byte: every tensor row by row, every other file whole.</summary>
public sealed record FolderDifference(IReadOnlyList<ChangedTensor> Tensors, IReadOnlyList<string> MissingTensors, IReadOnlyList<string> ExtraTensors, IReadOnlyList<string> ChangedFiles)
{
    /// <summary>Every row id that differs in a tensor compared by rows (embedding and head rows are token ids).</summary>
    public IReadOnlyList<long> ChangedRows => Tensors.Where(t => !t.Whole).SelectMany(t => t.Rows).Distinct().Order().ToList();

    /// <summary>What differs other than by rows: whole tensors, missing or extra tensors, other files.</summary>
    public IReadOnlyList<string> OtherChanges =>
        Tensors.Where(t => t.Whole).Select(t => $"tensor {t.Name}")
            .Concat(MissingTensors.Select(t => $"missing tensor {t}"))
            .Concat(ExtraTensors.Select(t => $"extra tensor {t}"))
            .Concat(ChangedFiles.Select(f => $"file {f}")).ToList();
}

/// <summary>Compares a model folder (a merge's output, say) with the folder it came from, without loading either model.</summary>
public static class ModelFolderDiff
{
    private const long RowsPerRead = 4096;

    public static FolderDifference Compare(string baseFolder, string otherFolder)
    {
        using var a = Checkpoint.OpenFolder(baseFolder);
        using var b = Checkpoint.OpenFolder(otherFolder);
        var missing = a.Names.Where(n => !b.Contains(n)).Order(StringComparer.Ordinal).ToList();
        var extra = b.Names.Where(n => !a.Contains(n)).Order(StringComparer.Ordinal).ToList();
        var changed = new List<ChangedTensor>();
        foreach (var name in a.Names.Where(b.Contains).Order(StringComparer.Ordinal))
        {
            var x = a.Info(name);
            var y = b.Info(name);
            if (x.DType != y.DType || !x.Shape.SequenceEqual(y.Shape))
            {
                changed.Add(new ChangedTensor(name, [], true));
                continue;
            }
            if (x.Shape.Length < 2 || x.Shape[0] == 0)
            {
                using var scope = NewDisposeScope();
                if (!a.Load(name).bytes.SequenceEqual(b.Load(name).bytes)) changed.Add(new ChangedTensor(name, [], true));
                continue;
            }
            var rowBytes = (int)(x.ByteLength / x.Shape[0]);
            var rows = new List<long>();
            for (long first = 0; first < x.Shape[0]; first += RowsPerRead)
            {
                using var scope = NewDisposeScope();
                var count = Math.Min(RowsPerRead, x.Shape[0] - first);
                var left = a.LoadRows(name, first, count).bytes;
                var right = b.LoadRows(name, first, count).bytes;
                for (var r = 0; r < count; r++)
                    if (!left.Slice(r * rowBytes, rowBytes).SequenceEqual(right.Slice(r * rowBytes, rowBytes))) rows.Add(first + r);
            }
            if (rows.Count > 0) changed.Add(new ChangedTensor(name, rows, false));
        }
        return new FolderDifference(changed, missing, extra, ChangedFiles(baseFolder, otherFolder, a.Files.Concat(b.Files)));
    }

    /// <summary>Files other than the weights that differ, are missing, or were added (merges copy them unchanged).</summary>
    private static List<string> ChangedFiles(string baseFolder, string otherFolder, IEnumerable<string> weightFiles)
    {
        var weights = weightFiles.Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal);
        static IEnumerable<string> Names(string folder) =>
            Directory.EnumerateFiles(folder).Select(f => Path.GetFileName(f)!).Where(n => !n.StartsWith('.'));
        var names = Names(baseFolder).Union(Names(otherFolder)).Where(n => !weights.Contains(n) && n != Checkpoint.IndexFileName).Order(StringComparer.Ordinal);
        var changed = new List<string>();
        foreach (var name in names)
        {
            var x = Path.Combine(baseFolder, name);
            var y = Path.Combine(otherFolder, name);
            if (!File.Exists(x) || !File.Exists(y) || !File.ReadAllBytes(x).AsSpan().SequenceEqual(File.ReadAllBytes(y))) changed.Add(name);
        }
        return changed;
    }
}
