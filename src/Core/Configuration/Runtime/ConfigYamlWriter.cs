using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace TrainableTokens.Core.Configuration;

/// <summary>
/// Writes config YAML the way a person would: block mappings with two-space indentation, short lists inline
/// (<c>[5, 6]</c>), strings unquoted unless YAML would read them as something else, in schema order.
/// </summary>
internal sealed class ConfigYamlWriter
{
    private static readonly Regex PlainSafe = new(@"^[A-Za-z0-9_./~][A-Za-z0-9_./~:@+=-]*$", RegexOptions.CultureInvariant);
    private readonly StringBuilder _text = new();
    private int _indent;

    /// <summary>Runs <paramref name="write"/> for the top-level mapping; <paramref name="comments"/> go first, one per line.</summary>
    public static string Write(Action<ConfigYamlWriter> write, IEnumerable<string>? comments = null)
    {
        var writer = new ConfigYamlWriter();
        foreach (var comment in comments ?? Enumerable.Empty<string>()) writer._text.Append("# ").Append(comment).Append('\n');
        write(writer);
        return writer._text.ToString();
    }

    public void Value(string key, string? value) => Line(key, value is null ? "null" : Scalar(value));
    public void Value(string key, int value) => Line(key, value.ToString(CultureInfo.InvariantCulture));
    public void Value(string key, int? value) => Line(key, value is { } v ? v.ToString(CultureInfo.InvariantCulture) : "null");
    public void Value(string key, double value) => Line(key, Number(value));
    public void Value(string key, double? value) => Line(key, value is { } v ? Number(v) : "null");
    public void Value(string key, bool value) => Line(key, value ? "true" : "false");
    public void Value(string key, bool? value) => Line(key, value is { } v ? (v ? "true" : "false") : "null");
    public void Value(string key, IReadOnlyList<int>? value) => Line(key, value is null ? "null" : Flow(value.Select(v => v.ToString(CultureInfo.InvariantCulture))));
    public void Value(string key, IReadOnlyList<double>? value) => Line(key, value is null ? "null" : Flow(value.Select(Number)));
    public void Value(string key, IReadOnlyList<string>? value) => Line(key, value is null ? "null" : Flow(value.Select(Scalar)));
    public void Value(string key, StringOrList? value) =>
        Line(key, value is null ? "null" : value.Items is { } items ? Flow(items.Select(Scalar)) : Scalar(value.Text!));

    /// <summary>A free-form value, written as inline JSON (which is also YAML).</summary>
    public void Value(string key, JsonElement? value) => Line(key, value is { } v ? v.GetRawText().Replace("\r", "").Replace("\n", " ") : "null");

    public void Null(string key) => Line(key, "null");

    /// <summary>A nested config object, indented below its key.</summary>
    public void Section(string key, Action<ConfigYamlWriter> write)
    {
        _text.Append(' ', _indent).Append(key).Append(":\n");
        _indent += 2;
        write(this);
        _indent -= 2;
    }

    private void Line(string key, string value) => _text.Append(' ', _indent).Append(key).Append(": ").Append(value).Append('\n');

    private static string Flow(IEnumerable<string> items) => "[" + string.Join(", ", items) + "]";

    /// <summary>Plain when YAML 1.2 reads it back as the same string; double-quoted otherwise.</summary>
    public static string Scalar(string value)
    {
        if (PlainSafe.IsMatch(value) && !value.EndsWith(":", StringComparison.Ordinal) && YamlPlainScalar.Resolve(value) == ScalarKind.String)
            return value;
        return ConfigJsonWriter.Quote(value);
    }

    /// <summary>Shortest round-trip form, with ".0" on whole numbers so a float reads as one.</summary>
    public static string Number(double value)
    {
        if (double.IsNaN(value)) return ".nan";
        if (double.IsInfinity(value)) return value > 0 ? ".inf" : "-.inf";
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.IndexOfAny(new[] { '.', 'E' }) >= 0 ? text.Replace("E", "e") : text + ".0";
    }
}
