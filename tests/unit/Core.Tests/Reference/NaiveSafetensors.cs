using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;

namespace TrainableTokens.Core.Tests.Reference;

/// <summary>One tensor read into doubles: its shape, its stored dtype and its values (row-major).</summary>
internal sealed record NaiveTensor(long[] Shape, string Dtype, double[] Values)
{
    public int Rows => (int)Shape[0];
    public int Cols => Shape.Length > 1 ? (int)(Values.Length / Shape[0]) : 1;
}

/// <summary>
/// A minimal safetensors reader for the reference decoder, independent of Core's reader: F32, BF16 and F16 into
/// doubles, one file or a sharded folder (model.safetensors.index.json). Tiny models only: it reads whole files.
/// </summary>
internal static class NaiveSafetensors
{
    public static Dictionary<string, NaiveTensor> ReadFile(string path)
    {
        var bytes = File.ReadAllBytes(path);
        long headerLength = BitConverter.ToInt64(bytes, 0);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength));
        int dataStart = 8 + (int)headerLength;
        var result = new Dictionary<string, NaiveTensor>(StringComparer.Ordinal);
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__") continue;
            var dtype = entry.Value.GetProperty("dtype").GetString()!;
            var shapeList = new List<long>();
            foreach (var d in entry.Value.GetProperty("shape").EnumerateArray()) shapeList.Add(d.GetInt64());
            var offsets = entry.Value.GetProperty("data_offsets");
            int begin = dataStart + (int)offsets[0].GetInt64(), end = dataStart + (int)offsets[1].GetInt64();
            result[entry.Name] = new NaiveTensor(shapeList.ToArray(), dtype, Decode(bytes, begin, end, dtype, entry.Name, path));
        }
        return result;
    }

    /// <summary>Every tensor of a model folder: model.safetensors, or each shard the index names.</summary>
    public static Dictionary<string, NaiveTensor> ReadFolder(string folder)
    {
        var index = Path.Combine(folder, "model.safetensors.index.json");
        if (!File.Exists(index)) return ReadFile(Path.Combine(folder, "model.safetensors"));
        using var json = JsonDocument.Parse(File.ReadAllText(index));
        var shards = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var e in json.RootElement.GetProperty("weight_map").EnumerateObject()) shards.Add(e.Value.GetString()!);
        var all = new Dictionary<string, NaiveTensor>(StringComparer.Ordinal);
        foreach (var shard in shards)
            foreach (var (name, tensor) in ReadFile(Path.Combine(folder, shard))) all[name] = tensor;
        return all;
    }

    static double[] Decode(byte[] bytes, int begin, int end, string dtype, string name, string path)
    {
        int size = dtype switch { "F32" => 4, "BF16" or "F16" => 2, _ => throw new NotSupportedException($"{path}: tensor {name} has dtype {dtype}; the reference reads F32, BF16 and F16") };
        var values = new double[(end - begin) / size];
        for (int i = 0; i < values.Length; i++)
        {
            int at = begin + i * size;
            values[i] = dtype switch
            {
                "F32" => BitConverter.ToSingle(bytes, at),
                "BF16" => BitConverter.Int32BitsToSingle(BitConverter.ToUInt16(bytes, at) << 16),
                _ => (double)BitConverter.ToHalf(bytes, at),
            };
        }
        return values;
    }

    /// <summary>Writes tensors (F32 or BF16) with a "pt" metadata header, in name order, as safetensors files do.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, NaiveTensor> tensors)
    {
        var names = new List<string>(tensors.Keys);
        names.Sort(StringComparer.Ordinal);
        var header = new Dictionary<string, object> { ["__metadata__"] = new Dictionary<string, string> { ["format"] = "pt" } };
        long offset = 0;
        var data = new MemoryStream();
        foreach (var name in names)
        {
            var t = tensors[name];
            int size = t.Dtype == "F32" ? 4 : t.Dtype == "BF16" ? 2 : throw new NotSupportedException(t.Dtype);
            foreach (var v in t.Values)
            {
                if (size == 4) data.Write(BitConverter.GetBytes((float)v));
                else data.Write(BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(Precision.ToBFloat16Float(v)) >> 16)));
            }
            header[name] = new Dictionary<string, object> { ["dtype"] = t.Dtype, ["shape"] = t.Shape, ["data_offsets"] = new[] { offset, offset + (long)t.Values.Length * size } };
            offset += (long)t.Values.Length * size;
        }
        var headerBytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int padded = (headerBytes.Length + 7) / 8 * 8;
        using var file = File.Create(path);
        file.Write(BitConverter.GetBytes((long)padded));
        file.Write(headerBytes);
        for (int i = headerBytes.Length; i < padded; i++) file.WriteByte((byte)' ');
        data.Position = 0;
        data.CopyTo(file);
    }
}
