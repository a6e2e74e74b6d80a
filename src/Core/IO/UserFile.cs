using System;
using System.IO;
using System.Text;

namespace TrainableTokens.Core.IO;

/// <summary>
/// Reads a file the user points at with limits: it must be a regular file (a FIFO would hang, <c>/dev/zero</c> never
/// ends), no larger than the reader's limit (checked again while reading, as the file may grow), and text must be
/// valid UTF-8. Problems become the caller's exception type, with a message naming the file and the fix.
/// </summary>
public static class UserFile
{
    /// <summary>Makes the caller's exception from a complete message.</summary>
    public delegate Exception ErrorFactory(string message);

    /// <summary>Refuses a path that is missing or is not a regular file (after following links).</summary>
    public static void CheckRegular(string path, string what, ErrorFactory error)
    {
        var kind = FileKind.Of(path);
        if (kind == FileKindValue.Regular) return;
        if (kind == FileKindValue.Missing)
            throw error($"The {what} '{path}' does not exist. Check the path.");
        throw error($"The {what} '{path}' is {FileKind.Describe(kind)}, not a regular file. Point at the file itself.");
    }

    /// <summary>All bytes of a regular file of at most <paramref name="maxBytes"/> bytes.</summary>
    public static byte[] ReadAllBytes(string path, long maxBytes, string what, ErrorFactory error)
    {
        CheckRegular(path, what, error);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
        var length = stream.Length;
        if (length > maxBytes) throw TooLarge(path, length, maxBytes, what, error);
        var buffer = new byte[length];
        var read = 0;
        while (read < buffer.Length)
        {
            var n = stream.Read(buffer, read, buffer.Length - read);
            if (n <= 0) throw error($"The {what} '{path}' became shorter while it was read. Make sure nothing else writes it, then try again.");
            read += n;
        }
        // A file that grew past its stat length: refuse rather than read on without end.
        Span<byte> probe = stackalloc byte[1];
        if (stream.Read(probe) > 0 && length + 1 > maxBytes) throw TooLarge(path, length + 1, maxBytes, what, error);
        return buffer;
    }

    /// <summary>A regular file's text, which must be valid UTF-8 (a BOM is dropped).</summary>
    public static string ReadAllText(string path, long maxBytes, string what, ErrorFactory error)
    {
        var bytes = ReadAllBytes(path, maxBytes, what, error);
        return DecodeUtf8(bytes, path, what, error);
    }

    /// <summary>Strict UTF-8 decoding; an invalid byte is reported with its line and byte offset.</summary>
    public static string DecodeUtf8(ReadOnlySpan<byte> bytes, string path, string what, ErrorFactory error)
    {
        var start = bytes.StartsWith(Utf8Bom) ? Utf8Bom.Length : 0;
        // Windows tools often save "Unicode" text as UTF-16, whose byte-order mark is never valid UTF-8: say what it is.
        if (bytes.Length >= 2 && ((bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF)))
            throw error($"The {what} '{path}' is UTF-16 text (it starts with a UTF-16 byte-order mark). Save the file as UTF-8.");
        try
        {
            return Strict.GetString(bytes[start..]);
        }
        catch (DecoderFallbackException e)
        {
            var offset = start + Math.Max(0, e.Index);
            var (line, column) = LineOf(bytes, offset);
            throw error($"The {what} '{path}' is not valid UTF-8 text: byte {offset} (line {line}, column {column}) is not part of a UTF-8 character. " +
                "Save the file as UTF-8.");
        }
    }

    /// <summary>Opens a regular file for streaming reads (for line-by-line readers that enforce their own limits).</summary>
    public static FileStream OpenRead(string path, string what, ErrorFactory error)
    {
        CheckRegular(path, what, error);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1 << 16);
    }

    /// <summary>A byte count in words a user reads at a glance.</summary>
    public static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.#} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.#} MiB",
        >= 1L << 10 => $"{bytes / (double)(1L << 10):0.#} KiB",
        _ => $"{bytes} bytes",
    };

    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static Exception TooLarge(string path, long length, long maxBytes, string what, ErrorFactory error) =>
        error($"The {what} '{path}' is {FormatBytes(length)}; a {what} is at most {FormatBytes(maxBytes)}. Check that the path names the right file.");

    private static (int Line, int Column) LineOf(ReadOnlySpan<byte> bytes, int offset)
    {
        var before = bytes[..Math.Min(offset, bytes.Length)];
        var line = before.Count((byte)'\n') + 1;
        var lastNewline = before.LastIndexOf((byte)'\n');
        return (line, offset - lastNewline);
    }
}
