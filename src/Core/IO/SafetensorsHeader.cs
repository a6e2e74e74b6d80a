using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.Win32.SafeHandles;

namespace TrainableTokens.Core.IO;

/// <summary>
/// The parsed and checked header of a safetensors file. Every number in it is checked before anything is read with it:
/// the header length against the file, each byte range against its dtype and shape (overflow-safe), against the end of
/// the file and against the other ranges. A file that fails a check is an <see cref="InvalidSafetensorsException"/>.
/// </summary>
internal sealed class SafetensorsHeader
{
    /// <summary>The reference implementation refuses headers over 100 MB; real ones are a few MB at most.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public const string MetadataKey = "__metadata__";

    private const string DamagedFix = "The file is damaged or is not a safetensors file; download or export it again.";
    private const string TruncatedFix = "The file was cut short, probably by an interrupted download or copy; download or copy it again.";

    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 64 };

    private SafetensorsHeader(long dataStart, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<SafetensorsTensorInfo> tensors)
    {
        DataStart = dataStart;
        Metadata = metadata;
        Tensors = tensors;
    }

    /// <summary>8 + header length: where the data section starts.</summary>
    public long DataStart { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>Reads the length prefix and the header of an open file of <paramref name="fileLength"/> bytes.</summary>
    public static SafetensorsHeader Read(string path, SafeFileHandle file, long fileLength)
    {
        if (fileLength < 8)
            throw Invalid(path, $"it is {fileLength} bytes long, shorter than the 8-byte header length that starts every safetensors file", DamagedFix);
        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(path, file, prefix, 0);
        var length = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (length == 0)
            throw Invalid(path, "its header length is 0; the header must be a JSON object", DamagedFix);
        if (length > MaxHeaderBytes)
            throw Invalid(path, $"its header length is {length} bytes, over the {MaxHeaderBytes}-byte (100 MB) limit of the format, so it is most likely not a safetensors file", DamagedFix);
        if ((long)length > fileLength - 8)
            throw new InvalidSafetensorsException(
                $"'{path}' is truncated: its header length is {length} bytes but only {fileLength - 8} bytes follow the 8-byte length prefix " +
                $"(the file has {fileLength} bytes, the header alone needs {8 + (long)length}). {TruncatedFix}", path);
        var json = new byte[length];
        ReadExactly(path, file, json, 8);
        return Parse(path, json, fileLength);
    }

    /// <summary>Parses header JSON that sat between the length prefix and the data of a file of <paramref name="fileLength"/> bytes.</summary>
    public static SafetensorsHeader Parse(string path, byte[] json, long fileLength)
    {
        var dataStart = 8L + json.Length;
        if (!Utf8.IsValid(json))
            throw Invalid(path, "its header is not valid UTF-8 text", DamagedFix);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw Invalid(path, $"its header is not valid JSON at byte offset {8 + e.BytePositionInLine} of the file ({JsonReason(e)})", DamagedFix, e);
        }
        using (document)
        {
            try
            {
                return FromJson(path, document.RootElement, dataStart, fileLength);
            }
            catch (InvalidOperationException e) when (e is not ObjectDisposedException)
            {
                // System.Text.Json reports a string it cannot turn into .NET text (a lone surrogate escape) this way.
                throw Invalid(path, "its header holds a \\u escape that is half of a character (a lone surrogate) in a name or value", DamagedFix, e);
            }
        }
    }

    private static SafetensorsHeader FromJson(string path, JsonElement root, long dataStart, long fileLength)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw Invalid(path, $"its header is a JSON {Describe(root.ValueKind)}, not an object of tensor entries", DamagedFix);
        IReadOnlyDictionary<string, string>? metadata = null;
        var tensors = new List<SafetensorsTensorInfo>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            if (property.NameEquals(MetadataKey))
            {
                if (metadata is not null)
                    throw Invalid(path, $"its header has two \"{MetadataKey}\" entries", DamagedFix);
                metadata = ParseMetadata(path, property.Value);
                continue;
            }
            var name = property.Name;
            if (!names.Add(name))
                throw Invalid(path, $"tensor '{Shorten(name)}' appears twice in the header", DamagedFix);
            tensors.Add(ParseTensor(path, name, property.Value, dataStart, fileLength));
        }
        CheckNoOverlap(path, tensors);
        return new SafetensorsHeader(dataStart, metadata ?? ReadOnlyDictionary<string, string>.Empty, tensors.AsReadOnly());
    }

    private static ReadOnlyDictionary<string, string> ParseMetadata(string path, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Invalid(path, $"its \"{MetadataKey}\" is a JSON {Describe(value.ValueKind)}, not an object of strings", DamagedFix);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw Invalid(path, $"its \"{MetadataKey}\" entry '{Shorten(entry.Name)}' is a JSON {Describe(entry.Value.ValueKind)}; metadata values must be strings", DamagedFix);
            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
                throw Invalid(path, $"its \"{MetadataKey}\" has the key '{Shorten(entry.Name)}' twice", DamagedFix);
        }
        return metadata.AsReadOnly();
    }

    private static SafetensorsTensorInfo ParseTensor(string path, string name, JsonElement entry, long dataStart, long fileLength)
    {
        if (entry.ValueKind != JsonValueKind.Object)
            throw InvalidTensor(path, name, $"is a JSON {Describe(entry.ValueKind)}, not an object with dtype, shape and data_offsets");
        JsonElement? dtypeField = null, shapeField = null, offsetsField = null;
        foreach (var field in entry.EnumerateObject())
        {
            // Other keys are ignored, as the reference reader ignores them.
            if (field.NameEquals("dtype")) Assign(ref dtypeField, field);
            else if (field.NameEquals("shape")) Assign(ref shapeField, field);
            else if (field.NameEquals("data_offsets")) Assign(ref offsetsField, field);
        }
        void Assign(ref JsonElement? slot, JsonProperty field)
        {
            if (slot is not null) throw InvalidTensor(path, name, $"has the key \"{field.Name}\" twice");
            slot = field.Value;
        }

        var dtype = ParseDType(path, name, dtypeField ?? throw MissingField(path, name, "dtype"));
        var shape = ParseShape(path, name, shapeField ?? throw MissingField(path, name, "shape"));
        var (begin, end) = ParseOffsets(path, name, offsetsField ?? throw MissingField(path, name, "data_offsets"));

        var needed = ByteLength(path, name, dtype, shape);
        if (end - begin != needed)
            throw InvalidTensor(path, name,
                $"has data_offsets [{begin}, {end}] ({end - begin} bytes) but dtype {dtype.HeaderName()} with shape {FormatShape(shape)} needs {needed} bytes");
        var dataLength = fileLength - dataStart;
        if (end > dataLength)
        {
            var fileEnd = dataStart + end;
            throw new InvalidSafetensorsException(
                $"'{path}' is truncated: tensor '{Shorten(name)}' ends at byte {fileEnd} but the file has only {fileLength} bytes " +
                $"({fileEnd - fileLength} bytes missing). {TruncatedFix}", path);
        }
        return new SafetensorsTensorInfo(path, name, dtype, shape, dataStart + begin, dataStart + end);
    }

    private static SafetensorsDType ParseDType(string path, string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.String)
            throw InvalidTensor(path, name, $"has a dtype that is a JSON {Describe(value.ValueKind)}, not a string such as \"F32\"");
        var text = value.GetString()!;
        if (!SafetensorsDTypeExtensions.TryParse(text, out var dtype))
            throw new InvalidSafetensorsException(
                $"'{path}': tensor '{Shorten(name)}' has dtype '{Shorten(text)}', which this engine does not read. " +
                $"Known dtypes: {SafetensorsDTypeExtensions.KnownNames}. Save the tensor as one of them (for example F32 or BF16).", path);
        return dtype;
    }

    private static long[] ParseShape(string path, string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array)
            throw InvalidTensor(path, name, $"has a shape that is a JSON {Describe(value.ValueKind)}, not an array of dimensions");
        var shape = new long[value.GetArrayLength()];
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (!TryGetInteger(item, out var dim))
                throw InvalidTensor(path, name, $"has a shape entry {Shorten(item.GetRawText())} that is not a whole number");
            if (dim < 0)
                throw InvalidTensor(path, name, $"has a negative dimension {dim} in its shape");
            shape[i++] = dim;
        }
        return shape;
    }

    private static (long Begin, long End) ParseOffsets(string path, string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != 2)
            throw InvalidTensor(path, name, $"has data_offsets {Shorten(value.GetRawText())}; they must be two whole numbers [begin, end]");
        var begin = value[0];
        var end = value[1];
        if (!TryGetInteger(begin, out var b) || !TryGetInteger(end, out var e) || b < 0 || e < 0)
            throw InvalidTensor(path, name, $"has data_offsets {Shorten(value.GetRawText())}; they must be two non-negative whole numbers [begin, end]");
        if (b > e)
            throw InvalidTensor(path, name, $"has data_offsets [{b}, {e}], which end before they begin");
        return (b, e);
    }

    /// <summary>Elements times element size, refused when it overflows (a shape like [2^40, 2^40] is an error, not a crash).</summary>
    private static long ByteLength(string path, string name, SafetensorsDType dtype, long[] shape)
    {
        long bytes = dtype.ElementSize();
        // Every partial product must fit, as libtorch computes them too: [2^62, 2^62, 0] is refused, like the reference reader does.
        long count = 1;
        foreach (var dim in shape)
        {
            if (dim != 0 && count > long.MaxValue / dim)
                throw InvalidTensor(path, name, $"has shape {FormatShape(shape)}, which has more elements than any file can hold");
            count *= dim;
        }
        if (count > long.MaxValue / bytes)
            throw InvalidTensor(path, name, $"has shape {FormatShape(shape)}, whose {dtype.HeaderName()} data is larger than any file can hold");
        return count * bytes;
    }

    private static void CheckNoOverlap(string path, List<SafetensorsTensorInfo> tensors)
    {
        SafetensorsTensorInfo? furthest = null;
        foreach (var tensor in tensors.Where(t => t.End > t.Begin).OrderBy(t => t.Begin))
        {
            if (furthest is not null && tensor.Begin < furthest.End)
                throw Invalid(path,
                    $"tensors '{furthest.Name}' (bytes {furthest.Begin}..{furthest.End}) and '{tensor.Name}' (bytes {tensor.Begin}..{tensor.End}) overlap",
                    DamagedFix);
            if (furthest is null || tensor.End > furthest.End) furthest = tensor;
        }
    }

    /// <summary>A JSON integer that fits a long; 1.0, 1e3, strings and 2^64 are not.</summary>
    private static bool TryGetInteger(JsonElement value, out long result)
    {
        result = 0;
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out result);
    }

    private static void ReadExactly(string path, SafeFileHandle file, Span<byte> buffer, long offset)
    {
        while (!buffer.IsEmpty)
        {
            var read = RandomAccess.Read(file, buffer, offset);
            if (read <= 0)
                throw new InvalidSafetensorsException($"'{path}' became shorter while it was being read. Make sure nothing else writes the file, then try again.", path);
            buffer = buffer[read..];
            offset += read;
        }
    }

    internal static string FormatShape(long[] shape) =>
        "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => "value",
    };

    /// <summary>System.Text.Json's reason without its position tail (the header is one line; the message gives the byte).</summary>
    private static string JsonReason(JsonException e)
    {
        var message = e.Message;
        if (message.Contains("maximum configured depth", StringComparison.Ordinal)) return "values are nested more than 64 levels deep";
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        message = (cut > 0 ? message[..cut] : message).TrimEnd().TrimEnd('.');
        // .NET quotes the rest of a bad literal, which can be the whole header.
        return message.Length <= 200 ? message : message[..197] + "...";
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";

    private static InvalidSafetensorsException MissingField(string path, string name, string field) =>
        InvalidTensor(path, name, $"has no \"{field}\"; every tensor entry needs dtype, shape and data_offsets");

    private static InvalidSafetensorsException InvalidTensor(string path, string name, string problem) =>
        Invalid(path, $"tensor '{Shorten(name)}' {problem}", DamagedFix);

    private static InvalidSafetensorsException Invalid(string path, string problem, string fix, Exception? inner = null) =>
        new($"'{path}' is not a valid safetensors file: {problem}. {fix}", path, inner);
}
