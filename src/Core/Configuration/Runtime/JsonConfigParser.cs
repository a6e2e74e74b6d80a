using System;
using System.Collections.Generic;
using System.Text;
using System.Text.Json;

namespace TrainableTokens.Core.Configuration;

/// <summary>
/// Reads JSON text into a <see cref="ConfigNode"/> tree with line and column for every value, which
/// <see cref="JsonDocument"/> does not keep.
/// </summary>
internal static class JsonConfigParser
{
    public static ConfigNode? Parse(string text, ConfigReadState state)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var lines = new LineMap(bytes);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        try
        {
            if (!reader.Read()) return null;
            return ReadValue(ref reader, lines, state);
        }
        catch (JsonException e)
        {
            var line = e.LineNumber is { } l ? (int)l + 1 : (int?)null;
            var column = e.BytePositionInLine is { } b ? (int)b + 1 : (int?)null;
            state.Error("", line, column, $"This is not valid JSON: {e.Message}");
            return null;
        }
    }

    private static ConfigNode ReadValue(ref Utf8JsonReader reader, LineMap lines, ConfigReadState state)
    {
        var (line, column) = lines.Position(reader.TokenStartIndex);
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
            {
                var entries = new List<ConfigEntry>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    var (keyLine, keyColumn) = lines.Position(reader.TokenStartIndex);
                    var key = ConfigNode.Scalar(ScalarKind.String, reader.GetString()!, keyLine, keyColumn);
                    reader.Read();
                    var value = ReadValue(ref reader, lines, state);
                    if (!seen.Add(key.Text))
                    {
                        state.Error(key.Text, key, $"'{key.Text}' is written twice in the same object. Keep one of them.");
                        continue;
                    }
                    entries.Add(new ConfigEntry(key, value));
                }
                return ConfigNode.Mapping(entries, line, column);
            }
            case JsonTokenType.StartArray:
            {
                var items = new List<ConfigNode>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) items.Add(ReadValue(ref reader, lines, state));
                return ConfigNode.Sequence(items, line, column);
            }
            case JsonTokenType.String:
                return ConfigNode.Scalar(ScalarKind.String, reader.GetString()!, line, column);
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

    /// <summary>Turns byte offsets into 1-based lines and columns counted in characters.</summary>
    private sealed class LineMap
    {
        private readonly byte[] _bytes;
        private readonly List<int> _starts = new() { 0 };

        public LineMap(byte[] bytes)
        {
            _bytes = bytes;
            for (var i = 0; i < bytes.Length; i++)
                if (bytes[i] == (byte)'\n') _starts.Add(i + 1);
        }

        public (int Line, int Column) Position(long offset)
        {
            var index = _starts.BinarySearch((int)offset);
            if (index < 0) index = ~index - 1;
            var start = _starts[index];
            var column = Encoding.UTF8.GetCharCount(_bytes, start, (int)offset - start) + 1;
            return (index + 1, column);
        }
    }
}
