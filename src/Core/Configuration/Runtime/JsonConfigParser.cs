using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace TrainableTokens.Core.Configuration;

/// <summary>
/// Reads JSON text into a <see cref="ConfigNode"/> tree with line and column for every value, which
/// <see cref="JsonDocument"/> does not keep. Nesting, list length and the number of values are bounded by
/// <see cref="ConfigLimits"/>; text after the value, and strings that are not valid text, are findings.
/// </summary>
internal static class JsonConfigParser
{
    public static ConfigNode? Parse(string text, ConfigReadState state)
    {
        if (text.Length > 0 && text[0] == '\uFEFF') text = text.Substring(1);
        if (string.IsNullOrWhiteSpace(text)) return null;
        var bytes = Encoding.UTF8.GetBytes(text);
        var lines = new LineMap(bytes);
        // One level more than ours, so our message (with the limit and the fix) comes first.
        var options = new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = ConfigLimits.MaxDepth + 1 };
        var reader = new Utf8JsonReader(bytes, options);
        var reading = new Reading(lines);
        try
        {
            if (!reader.Read()) return null;
            var root = reading.Value(ref reader, state);
            // Reading on finds anything after the value ("{...}{...}"); the reader throws for it.
            if (reader.Read())
            {
                var (line, column) = lines.Position(reader.TokenStartIndex);
                throw new ConfigSyntaxException(line, column, "There is more after the end of the JSON value. Keep one JSON object in the file.");
            }
            return root;
        }
        catch (ConfigSyntaxException e)
        {
            state.Error("", e.Line, e.Column, e.Message);
            return null;
        }
        catch (JsonException e)
        {
            var line = e.LineNumber is { } l ? (int)l + 1 : (int?)null;
            var column = e.BytePositionInLine is { } b ? (int)b + 1 : (int?)null;
            state.Error("", line, column, $"This is not valid JSON: {Reason(e)}");
            return null;
        }
    }

    /// <summary>System.Text.Json's message without its " LineNumber: 0 | BytePositionInLine: 3." tail; the finding has the position.</summary>
    internal static string Reason(JsonException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut > 0) message = message.Substring(0, cut);
        message = message.Trim();
        if (message.Length > 200) message = message.Substring(0, 197) + "...";
        return message.EndsWith(".", StringComparison.Ordinal) ? message : message + ".";
    }

    /// <summary>One parse: where the text is, and how many values the tree holds.</summary>
    private sealed class Reading
    {
        private readonly LineMap _lines;
        private long _nodes;

        public Reading(LineMap lines)
        {
            _lines = lines;
        }

        public ConfigNode Value(ref Utf8JsonReader reader, ConfigReadState state)
        {
            var (line, column) = _lines.Position(reader.TokenStartIndex);
            if (++_nodes > ConfigLimits.MaxNodes)
                throw new ConfigSyntaxException(line, column,
                    $"The file holds more than {ConfigLimits.MaxNodes.ToString("N0", CultureInfo.InvariantCulture)} values, far more than any config needs. Check that this is the right file.");
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                {
                    CheckDepth(ref reader, line, column);
                    var entries = new List<ConfigEntry>();
                    var seen = new HashSet<string>(StringComparer.Ordinal);
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                    {
                        if (entries.Count == ConfigLimits.MaxItems) throw TooLong(line, column, "object");
                        var (keyLine, keyColumn) = _lines.Position(reader.TokenStartIndex);
                        var key = ConfigNode.Scalar(ScalarKind.String, Text(ref reader, keyLine, keyColumn), keyLine, keyColumn);
                        reader.Read();
                        var value = Value(ref reader, state);
                        if (!seen.Add(key.Text))
                        {
                            var shown = ConfigLimits.Quote(key.Text);
                            state.Error(shown, key, $"'{shown}' is written twice in the same object. Keep one of them.");
                            continue;
                        }
                        entries.Add(new ConfigEntry(key, value));
                    }
                    return ConfigNode.Mapping(entries, line, column);
                }
                case JsonTokenType.StartArray:
                {
                    CheckDepth(ref reader, line, column);
                    var items = new List<ConfigNode>();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (items.Count == ConfigLimits.MaxItems) throw TooLong(line, column, "list");
                        items.Add(Value(ref reader, state));
                    }
                    return ConfigNode.Sequence(items, line, column);
                }
                case JsonTokenType.String:
                    return ConfigNode.Scalar(ScalarKind.String, Text(ref reader, line, column), line, column);
                case JsonTokenType.Number:
                {
                    var raw = Encoding.UTF8.GetString(reader.ValueSpan);
                    var kind = raw.IndexOfAny(new[] { '.', 'e', 'E' }) >= 0 ? ScalarKind.Float : ScalarKind.Integer;
                    return ConfigNode.Scalar(kind, raw, line, column);
                }
                case JsonTokenType.True:
                    return ConfigNode.Scalar(ScalarKind.Boolean, "true", line, column);
                case JsonTokenType.False:
                    return ConfigNode.Scalar(ScalarKind.Boolean, "false", line, column);
                case JsonTokenType.Null:
                    return ConfigNode.Scalar(ScalarKind.Null, "null", line, column);
                default:
                    throw new JsonException($"Unexpected {reader.TokenType}.", null, line - 1, column - 1);
            }
        }

        private static void CheckDepth(ref Utf8JsonReader reader, int line, int column)
        {
            // CurrentDepth is 0 for the top-level value's own brackets.
            if (reader.CurrentDepth >= ConfigLimits.MaxDepth)
                throw new ConfigSyntaxException(line, column,
                    $"Lists and objects are nested more than {ConfigLimits.MaxDepth} levels deep here; a config needs only a few levels. Check the brackets.");
        }

        /// <summary>A string token as .NET text; an escape such as \ud800 that is half a character is a finding, not an InvalidOperationException.</summary>
        private static string Text(ref Utf8JsonReader reader, int line, int column)
        {
            try
            {
                return reader.GetString()!;
            }
            catch (InvalidOperationException)
            {
                throw new ConfigSyntaxException(line, column,
                    "This string is not valid text: it holds a \\u escape that is half of a character (a lone surrogate such as \\ud800). Remove or complete the escape.");
            }
        }

        private static ConfigSyntaxException TooLong(int line, int column, string what) =>
            new(line, column,
                $"This {what} has more than {ConfigLimits.MaxItems.ToString("N0", CultureInfo.InvariantCulture)} items, far more than any config needs. Check that this is the right file.");
    }

    /// <summary>Turns byte offsets into 1-based lines and columns counted in characters.</summary>
    private sealed class LineMap
    {
        private readonly byte[] _bytes;
        private readonly List<int> _starts = new() { 0 };
        // The parser asks in increasing order: counting on from the last answer keeps a one-line file linear, not quadratic.
        private int _lastLine = -1;
        private int _lastOffset;
        private int _lastColumn;

        public LineMap(byte[] bytes)
        {
            _bytes = bytes;
            for (var i = 0; i < bytes.Length; i++)
                if (bytes[i] == (byte)'\n') _starts.Add(i + 1);
        }

        public (int Line, int Column) Position(long offset)
        {
            var at = (int)offset;
            var index = _starts.BinarySearch(at);
            if (index < 0) index = ~index - 1;
            var start = _starts[index];
            int column;
            if (index == _lastLine && at >= _lastOffset)
                column = _lastColumn + Encoding.UTF8.GetCharCount(_bytes, _lastOffset, at - _lastOffset);
            else
                column = Encoding.UTF8.GetCharCount(_bytes, start, at - start) + 1;
            (_lastLine, _lastOffset, _lastColumn) = (index, at, column);
            return (index + 1, column);
        }
    }
}
