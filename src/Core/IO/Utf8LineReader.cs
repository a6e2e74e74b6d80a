using System;
using System.IO;
using System.Text;

namespace TrainableTokens.Core.IO;

/// <summary>
/// Reads a stream of UTF-8 text one line at a time (lines end at "\n" or "\r\n"), holding at most one line in memory
/// and refusing a line longer than its limit before reading past it: a multi-GB dataset streams, and /dev/zero-like
/// input (no newline, ever) stops at the limit. Each line must be strict UTF-8 without NUL characters; problems come
/// back through the caller's factory with the 1-based line number.
/// </summary>
internal sealed class Utf8LineReader : IDisposable
{
    /// <summary>Makes the caller's exception from a message and the line it is about.</summary>
    public delegate Exception ErrorFactory(string message, int line);

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Stream _stream;
    private readonly string _path;
    private readonly int _maxLineBytes;
    private readonly ErrorFactory _error;
    private byte[] _buffer = new byte[1 << 16];
    private int _start;
    private int _end;
    private bool _eof;

    public Utf8LineReader(Stream stream, string path, int maxLineBytes, ErrorFactory error)
    {
        _stream = stream;
        _path = path;
        _maxLineBytes = maxLineBytes;
        _error = error;
    }

    /// <summary>The number of the line last read (1-based; 0 before the first).</summary>
    public int LineNumber { get; private set; }

    /// <summary>The next line without its line ending, or false at the end of the stream.</summary>
    public bool TryRead(out string line)
    {
        line = "";
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                line = Decode(_start, newline - _start);
                _start = newline + 1;
                return true;
            }
            if (_end - _start > _maxLineBytes + 1) throw TooLong(LineNumber + 1);
            if (_eof)
            {
                if (_end == _start) return false;
                line = Decode(_start, _end - _start);
                _start = _end;
                return true;
            }
            Fill();
        }
    }

    public void Dispose() => _stream.Dispose();

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
            // Grow only as far as one line may go (plus its "\r\n"), so the limit bounds memory too.
            var size = (int)Math.Min((long)_buffer.Length * 2, (long)_maxLineBytes + 2);
            if (size <= _buffer.Length) throw TooLong(LineNumber + 1);
            Array.Resize(ref _buffer, size);
        }
        var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read <= 0) _eof = true;
        else _end += read;
    }

    private string Decode(int start, int length)
    {
        LineNumber++;
        if (length > 0 && _buffer[start + length - 1] == (byte)'\r') length--;
        if (length > _maxLineBytes) throw TooLong(LineNumber);
        var bytes = new ReadOnlySpan<byte>(_buffer, start, length);
        if (LineNumber == 1)
        {
            if (bytes.StartsWith("\uFEFF"u8)) bytes = bytes[3..];
            else if (bytes.Length >= 2 && ((bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF)))
                throw _error($"'{_path}' is UTF-16 text (it starts with a UTF-16 byte-order mark). Save the file as UTF-8.", 1);
        }
        var nul = bytes.IndexOf((byte)0);
        if (nul >= 0)
            throw _error($"'{_path}' line {LineNumber} holds a NUL byte at byte {nul + 1} of the line, so it is not a text file (it may be UTF-16 or binary). Save it as UTF-8 text.", LineNumber);
        try
        {
            return Strict.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            var at = Math.Max(0, e.Index) + 1;
            throw _error($"'{_path}' line {LineNumber} is not valid UTF-8 text: byte {at} of the line is not part of a UTF-8 character. Save the file as UTF-8.", LineNumber);
        }
    }

    private Exception TooLong(int line) =>
        _error($"'{_path}' line {line} is longer than {UserFile.FormatBytes(_maxLineBytes)}, the most one line may hold. " +
            "Check that this is a text dataset with one record per line.", line);
}
