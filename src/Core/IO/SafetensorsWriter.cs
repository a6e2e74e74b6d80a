using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using TorchSharp;
using TrainableTokens.Core.Runtime;

namespace TrainableTokens.Core.IO;

/// <summary>
/// Writes safetensors files byte-identical to the reference writer (Python's <c>safetensors.torch.save_file</c>): a
/// compact header with <c>__metadata__</c> first, padded with spaces to a multiple of 8 bytes, and tensor data ordered
/// by dtype (largest first) then name. Files are replaced atomically, and each tensor's bytes are streamed from its
/// native memory, so writing needs no managed copy of the data.
/// </summary>
public static class SafetensorsWriter
{
    private static readonly Regex ShardFilePattern = new(@"^model-\d{5}-of-\d{5}\.safetensors$", RegexOptions.CultureInvariant);

    /// <summary>
    /// Writes <paramref name="tensors"/> (any supported dtype, any device, contiguous or not) to <paramref name="path"/>,
    /// replacing it atomically. The caller keeps ownership of the tensors.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, torch.Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        TorchRuntime.EnsureLoaded();
        WriteFile(path, Describe(tensors), metadata);
    }

    /// <summary>
    /// Writes a Hugging Face checkpoint into <paramref name="folder"/> (created if missing): <c>model.safetensors</c> when
    /// all tensors fit in <paramref name="maxShardBytes"/>, else shards <c>model-00001-of-0000N.safetensors</c> filled in
    /// the order given (a tensor larger than the limit gets a shard of its own) plus <c>model.safetensors.index.json</c>.
    /// <paramref name="metadata"/> goes into every file's header. Weight files of an earlier layout in the folder
    /// (model.safetensors, an index, shards of another count) are removed after the new files are in place.
    /// </summary>
    public static void WriteSharded(string folder, IEnumerable<KeyValuePair<string, torch.Tensor>> tensors, long maxShardBytes, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        TorchRuntime.EnsureLoaded();
        var entries = Describe(tensors);
        var shards = PlanShards(entries, maxShardBytes);
        var full = Path.GetFullPath(folder);
        Directory.CreateDirectory(full);
        if (shards.Count <= 1)
        {
            WriteFile(Path.Combine(full, Checkpoint.SingleFileName), entries, metadata);
            RemoveStaleWeights(full, keep: new HashSet<string> { Checkpoint.SingleFileName });
            return;
        }
        var weightMap = new List<KeyValuePair<string, string>>();
        var written = new HashSet<string>(StringComparer.Ordinal) { Checkpoint.IndexFileName };
        for (var i = 0; i < shards.Count; i++)
        {
            var file = string.Create(CultureInfo.InvariantCulture, $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors");
            WriteFile(Path.Combine(full, file), shards[i], metadata);
            weightMap.AddRange(shards[i].Select(e => new KeyValuePair<string, string>(e.Name, file)));
            written.Add(file);
        }
        CheckpointIndex.Write(Path.Combine(full, Checkpoint.IndexFileName), entries.Sum(e => e.Bytes), weightMap);
        RemoveStaleWeights(full, written);
    }

    /// <summary>
    /// Writes one file whose tensors are produced one at a time while the data is written: each
    /// <see cref="TensorSource.Load"/> is called once, its tensor written and disposed before the next, so a checkpoint
    /// can be rewritten with the memory of its largest tensor. The header comes from the declared dtypes and shapes; a
    /// loaded tensor that differs from its declaration is an error and the file is not replaced.
    /// </summary>
    public static void WriteStreamed(string path, IEnumerable<TensorSource> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        TorchRuntime.EnsureLoaded();
        var entries = new List<Entry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in tensors)
        {
            if (source.Name == SafetensorsHeader.MetadataKey || !names.Add(source.Name))
                throw new ArgumentException($"Tensor name '{source.Name}' is reserved or given twice.", nameof(tensors));
            long count = 1;
            foreach (var dim in source.Shape) count = checked(count * dim);
            entries.Add(new Entry(source.Name, null, source.Load, source.DType, source.Shape, checked(count * source.DType.ElementSize())));
        }
        WriteFile(path, entries, metadata);
    }

    /// <summary>What is known about one tensor before its data is written; <paramref name="Load"/> produces a tensor the writer owns.</summary>
    private sealed record Entry(string Name, torch.Tensor? Tensor, Func<torch.Tensor>? Load, SafetensorsDType DType, long[] Shape, long Bytes);

    private static List<Entry> Describe(IEnumerable<KeyValuePair<string, torch.Tensor>> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var entries = new List<Entry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (name is null) throw new ArgumentException("A tensor name is null.", nameof(tensors));
            if (tensor is null) throw new ArgumentException($"Tensor '{name}' is null.", nameof(tensors));
            if (name == SafetensorsHeader.MetadataKey)
                throw new ArgumentException($"'{SafetensorsHeader.MetadataKey}' is reserved for the header's metadata and cannot name a tensor.", nameof(tensors));
            if (!names.Add(name)) throw new ArgumentException($"Tensor '{name}' is given twice.", nameof(tensors));
            if (!SafetensorsDTypeExtensions.TryFromScalarType(tensor.dtype, out var dtype))
                throw new ArgumentException(
                    $"Tensor '{name}' has dtype {tensor.dtype}, which cannot be written; convert it to one of " +
                    $"{SafetensorsDTypeExtensions.KnownNames} first.", nameof(tensors));
            var shape = tensor.shape;
            entries.Add(new Entry(name, tensor, null, dtype, shape, checked(tensor.NumberOfElements * dtype.ElementSize())));
        }
        return entries;
    }

    private static List<List<Entry>> PlanShards(List<Entry> entries, long maxShardBytes)
    {
        var shards = new List<List<Entry>>();
        List<Entry>? current = null;
        long size = 0;
        foreach (var entry in entries)
        {
            if (current is null || (current.Count > 0 && size + entry.Bytes > maxShardBytes))
            {
                current = new List<Entry>();
                shards.Add(current);
                size = 0;
            }
            current.Add(entry);
            size += entry.Bytes;
        }
        return shards;
    }

    private static void WriteFile(string path, IReadOnlyList<Entry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var ordered = entries
            .OrderByDescending(e => e.DType.ReferenceRank())
            .ThenBy(e => e.Name, CodePointOrder.Instance)
            .ToList();
        var header = BuildHeader(ordered, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> prefix = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
            stream.Write(prefix);
            stream.Write(header);
            foreach (var entry in ordered) WriteData(entry, stream);
        });
    }

    /// <summary>The header as serde_json writes it (no spaces, keys dtype/shape/data_offsets), padded with spaces to 8 bytes.</summary>
    private static byte[] BuildHeader(List<Entry> ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new StringBuilder("{");
        if (metadata is not null)
        {
            json.AppendString(SafetensorsHeader.MetadataKey, asciiOnly: false).Append(":{");
            var first = true;
            foreach (var (key, value) in metadata)
            {
                if (key is null || value is null) throw new ArgumentException("Metadata keys and values must not be null.", nameof(metadata));
                if (!first) json.Append(',');
                json.AppendString(key, asciiOnly: false).Append(':').AppendString(value, asciiOnly: false);
                first = false;
            }
            json.Append('}');
        }
        long offset = 0;
        foreach (var entry in ordered)
        {
            if (json.Length > 1) json.Append(',');
            json.AppendString(entry.Name, asciiOnly: false)
                .Append(":{\"dtype\":\"").Append(entry.DType.HeaderName())
                .Append("\",\"shape\":[").AppendJoin(',', entry.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))
                .Append("],\"data_offsets\":[").Append(offset.ToString(CultureInfo.InvariantCulture))
                .Append(',').Append((offset + entry.Bytes).ToString(CultureInfo.InvariantCulture)).Append("]}");
            offset += entry.Bytes;
        }
        json.Append('}');
        var length = Encoding.UTF8.GetByteCount(json.ToString());
        // Padding keeps the data section 8-byte aligned, so a mapped file can be read as F64/I64 in place.
        json.Append(' ', (8 - length % 8) % 8);
        return Encoding.UTF8.GetBytes(json.ToString());
    }

    private static void WriteData(Entry entry, Stream stream)
    {
        if (entry.Tensor is null)
        {
            using var loaded = entry.Load!();
            if (!loaded.shape.SequenceEqual(entry.Shape) || !SafetensorsDTypeExtensions.TryFromScalarType(loaded.dtype, out var dtype) || dtype != entry.DType)
                throw new InvalidOperationException(
                    $"Tensor '{entry.Name}' was declared {entry.DType} [{string.Join(", ", entry.Shape)}] but loaded as {loaded.dtype} [{string.Join(", ", loaded.shape)}].");
            WriteData(entry with { Tensor = loaded }, stream);
            return;
        }
        if (entry.Bytes == 0) return;
        using var noGrad = torch.no_grad();
        using var cpu = entry.Tensor.cpu();
        using var dense = cpu.contiguous();
        if (dense.NumberOfElements * dense.ElementSize != entry.Bytes)
            throw new InvalidOperationException($"Tensor '{entry.Name}' changed size while it was being written.");
        TensorMemory.WriteTo(dense, stream);
    }

    private static void RemoveStaleWeights(string folder, IReadOnlySet<string> keep)
    {
        foreach (var path in Directory.EnumerateFiles(folder))
        {
            var name = Path.GetFileName(path);
            var ours = name == Checkpoint.SingleFileName || name == Checkpoint.IndexFileName || ShardFilePattern.IsMatch(name);
            if (ours && !keep.Contains(name)) File.Delete(path);
        }
    }
}
