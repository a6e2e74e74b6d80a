using System;
using System.Buffers.Binary;
using System.IO;
using System.Text;

namespace TrainableTokens.Core.Tests.IO;

/// <summary>A folder of its own per test, removed afterwards, and hand-made safetensors files inside it.</summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("tt-safetensors-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes length prefix + header + data exactly as given; <paramref name="declaredLength"/> overrides the prefix.</summary>
    public string WriteRaw(string name, string header, byte[]? data = null, ulong? declaredLength = null)
    {
        var path = File(name);
        System.IO.File.WriteAllBytes(path, Raw(header, data, declaredLength));
        return path;
    }

    public static byte[] Raw(string header, byte[]? data = null, ulong? declaredLength = null)
    {
        var json = Encoding.UTF8.GetBytes(header);
        data ??= [];
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
