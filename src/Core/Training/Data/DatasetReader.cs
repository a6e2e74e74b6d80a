using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Text.Unicode;
using TrainableTokens.Core.IO;

namespace TrainableTokens.Core.Training.Data;

/// <summary>
/// Reads training records from a file, lazily and bounded: JSON Lines (<c>.jsonl</c>, one record per line, blank lines
/// skipped), a JSON array of records (<c>.json</c>, read one record at a time), or plain text (<c>.txt</c> and any other
/// extension: each non-blank line is a text record, as Hugging Face's "text" loader makes one example per line). The
/// file must be a regular file of UTF-8 text; no line or record may pass <see cref="MaxRecordBytes"/>, and the file is
/// never read whole, so its size is not limited.
/// </summary>
public static class DatasetReader
{
    /// <summary>The most one line (or one record of a .json array) may hold.</summary>
    public const int MaxRecordBytes = 64 << 20;

    private static readonly JsonDocumentOptions RecordOptions = new() { MaxDepth = 64 };

    public static IEnumerable<DatasetRecord> ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        // Checked now, not when the first record is asked for, so a wrong path fails where it is given.
        UserFile.CheckRegular(full, "dataset file", message => new InvalidDatasetException(message, full));
        var extension = Path.GetExtension(full).ToLowerInvariant();
        return extension switch
        {
            ".jsonl" or ".ndjson" => ReadJsonLines(full),
            ".json" => ReadJsonArray(full),
            _ => ReadTextLines(full),
        };
    }

    /// <summary>The file's lines with their 1-based numbers, streamed and checked (UTF-8, no NUL, at most <see cref="MaxRecordBytes"/> each).</summary>
    public static IEnumerable<(int Number, string Text)> ReadLines(string path)
    {
        using var lines = new Utf8LineReader(Open(path), path, MaxRecordBytes, (message, line) => new InvalidDatasetException(message, path, line));
        while (lines.TryRead(out var line)) yield return (lines.LineNumber, line);
    }

    private static FileStream Open(string path)
    {
        try
        {
            return UserFile.OpenRead(path, "dataset file", message => new InvalidDatasetException(message, path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDatasetException($"The dataset file '{path}' cannot be read: {e.Message} Check the file and its permissions.", path, inner: e);
        }
    }

    private static IEnumerable<DatasetRecord> ReadJsonLines(string path)
    {
        foreach (var (number, line) in ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(line, RecordOptions);
            }
            catch (JsonException e)
            {
                throw new InvalidDatasetException(
                    $"'{path}' line {number} is not valid JSON (at character {e.BytePositionInLine + 1}: {Reason(e)}). " +
                    "Each line of a .jsonl file must be one complete JSON object, such as {\"text\": \"...\"}; a record cannot span lines.", path, number, e);
            }
            using (doc) yield return DatasetRecord.FromJson(doc.RootElement, path, number);
        }
    }

    private static IEnumerable<DatasetRecord> ReadJsonArray(string path)
    {
        using var records = new JsonArrayRecords(Open(path), path);
        var index = 0;
        while (records.TryRead(out var bytes))
        {
            index++;
            var source = path + $" record {index}";
            if (!Utf8.IsValid(bytes.Span))
                throw new InvalidDatasetException($"'{source}' is not valid UTF-8 text. Save the file as UTF-8.", path);
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(bytes, RecordOptions);
            }
            catch (JsonException e)
            {
                throw new InvalidDatasetException($"'{source}' is not valid JSON ({Reason(e)}).", path, inner: e);
            }
            using (doc) yield return DatasetRecord.FromJson(doc.RootElement, source, null);
        }
    }

    private static IEnumerable<DatasetRecord> ReadTextLines(string path)
    {
        foreach (var (number, line) in ReadLines(path))
            if (!string.IsNullOrWhiteSpace(line)) yield return DatasetRecord.FromText(line, path, number);
    }

    internal static string Reason(JsonException e)
    {
        var message = e.Message;
        if (message.Contains("maximum configured depth", StringComparison.Ordinal)) return "values are nested more than 64 levels deep";
        if (message.Contains("Expected depth to be zero", StringComparison.Ordinal)) return "it ends before every { and [ is closed, so it is cut short";
        var cut = message.IndexOf(". ", StringComparison.Ordinal);
        message = cut > 0 ? message[..cut] : message.TrimEnd('.');
        // .NET quotes the rest of a bad literal, which can be a whole line of many MB.
        return message.Length <= 200 ? message : message[..197] + "...";
    }

    /// <summary>
    /// The elements of a top-level JSON array, one at a time from a stream: the buffer holds one record (at most
    /// <see cref="MaxRecordBytes"/>), not the file.
    /// </summary>
    private sealed class JsonArrayRecords : IDisposable
    {
        private readonly Stream _stream;
        private readonly string _path;
        private byte[] _buffer = new byte[1 << 16];
        private int _start;
        private int _end;
        private bool _eof;
        private bool _started;
        private bool _done;
        private JsonReaderState _state = new(new JsonReaderOptions { MaxDepth = 64 });

        public JsonArrayRecords(Stream stream, string path)
        {
            _stream = stream;
            _path = path;
        }

        public bool TryRead(out ReadOnlyMemory<byte> record)
        {
            record = default;
            if (_done) return false;
            while (true)
            {
                var reader = new Utf8JsonReader(new ReadOnlySpan<byte>(_buffer, _start, _end - _start), _eof, _state);
                var before = _start;
                try
                {
                    if (Step(ref reader, out record)) return !_done;
                    if (_start != before) continue;
                    // Nothing read and nothing more to come: never spin on a reader that wants bytes that will not arrive.
                    if (_eof)
                        throw new InvalidDatasetException($"'{_path}' ends before its JSON array does: the file is cut short. Check that it was written completely.", _path);
                }
                catch (JsonException e)
                {
                    if (!_started && _eof && _buffer.AsSpan(_start, _end - _start).IndexOfAnyExcept(" \t\r\n"u8) < 0)
                        throw new InvalidDatasetException($"'{_path}' is empty. A .json dataset must be one JSON array of records; use .jsonl for one record per line.", _path);
                    throw new InvalidDatasetException(
                        $"'{_path}' line {e.LineNumber + 1} is not valid JSON ({Reason(e)}). A .json dataset must be one JSON array of records; use .jsonl for one record per line.",
                        _path, (int?)(e.LineNumber + 1), e);
                }
                Fill();
            }
        }

        /// <summary>True when it produced a record or reached the end; false when it needs more bytes.</summary>
        private bool Step(ref Utf8JsonReader reader, out ReadOnlyMemory<byte> record)
        {
            record = default;
            if (!_started)
            {
                if (_start == 0 && _end - _start >= 3 && _buffer.AsSpan(0, 3).SequenceEqual("\uFEFF"u8))
                {
                    _start = 3;
                    return false;
                }
                if (!reader.Read()) return Empty();
                if (reader.TokenType != JsonTokenType.StartArray)
                    throw new InvalidDatasetException($"'{_path}' must hold a JSON array of records (or use .jsonl with one record per line).", _path);
                _started = true;
                Advance(ref reader);
                return false;
            }
            if (!reader.Read()) return Empty();
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                Advance(ref reader);
                OnlyWhitespaceFollows();
                _done = true;
                return true;
            }
            var begin = (int)reader.TokenStartIndex;
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip()) return false;
            var length = (int)reader.BytesConsumed - begin;
            if (length > MaxRecordBytes) throw TooLarge();
            record = new ReadOnlyMemory<byte>(_buffer.AsSpan(_start + begin, length).ToArray());
            Advance(ref reader);
            return true;
        }

        private void OnlyWhitespaceFollows()
        {
            while (true)
            {
                if (_buffer.AsSpan(_start, _end - _start).IndexOfAnyExcept(" \t\r\n"u8) >= 0)
                    throw new InvalidDatasetException(
                        $"'{_path}' has more after its JSON array ends. A .json dataset must be one JSON array of records; use .jsonl for one record per line.", _path);
                _start = _end;
                if (_eof) return;
                Fill();
            }
        }

        private bool Empty()
        {
            if (!_eof) return false;
            if (!_started)
                throw new InvalidDatasetException($"'{_path}' is empty. A .json dataset must be one JSON array of records; use .jsonl for one record per line.", _path);
            throw new InvalidDatasetException($"'{_path}' ends before its JSON array does: the file is cut short. Check that it was written completely.", _path);
        }

        private void Advance(ref Utf8JsonReader reader)
        {
            _start += (int)reader.BytesConsumed;
            _state = reader.CurrentState;
        }

        private void Fill()
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length)
            {
                var size = (int)Math.Min((long)_buffer.Length * 2, MaxRecordBytes + (1L << 16));
                if (size <= _buffer.Length) throw TooLarge();
                Array.Resize(ref _buffer, size);
            }
            var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (read <= 0) _eof = true;
            else _end += read;
        }

        private InvalidDatasetException TooLarge() =>
            new($"'{_path}' has a record larger than {UserFile.FormatBytes(MaxRecordBytes)}, the most one record may hold. Check that this is a dataset of text records.", _path);

        public void Dispose() => _stream.Dispose();
    }
}
