using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace TrainableTokens.Core.Configuration;

/// <summary>
/// Writes JSON exactly as Python's <c>json.dumps(obj, indent=2, sort_keys=True)</c> does, which is how PEFT writes
/// <c>adapter_config.json</c>: keys sorted at every level, two-space indentation, one list item per line, non-ASCII
/// escaped, floats in Python's repr form, no newline at the end. A file we write then diffs cleanly against PEFT's.
/// </summary>
internal sealed class ConfigJsonWriter
{
    private readonly Stack<List<KeyValuePair<string, string>>> _objects = new();
    private int Depth => _objects.Count;

    /// <summary>Runs <paramref name="write"/> for the top-level object and returns the text.</summary>
    public static string Write(Action<ConfigJsonWriter> write)
    {
        var writer = new ConfigJsonWriter();
        return writer.Object(write);
    }

    public void Value(string key, string? value) => Add(key, value is null ? "null" : Quote(value));
    public void Value(string key, int value) => Add(key, value.ToString(CultureInfo.InvariantCulture));
    public void Value(string key, int? value) => Add(key, value is { } v ? v.ToString(CultureInfo.InvariantCulture) : "null");
    public void Value(string key, double value) => Add(key, PythonFloat(value));
    public void Value(string key, double? value) => Add(key, value is { } v ? PythonFloat(v) : "null");
    public void Value(string key, bool value) => Add(key, value ? "true" : "false");
    public void Value(string key, bool? value) => Add(key, value is { } v ? (v ? "true" : "false") : "null");
    public void Value(string key, IReadOnlyList<int>? value) => Add(key, value is null ? "null" : List(value, v => v.ToString(CultureInfo.InvariantCulture)));
    public void Value(string key, IReadOnlyList<double>? value) => Add(key, value is null ? "null" : List(value, PythonFloat));
    public void Value(string key, IReadOnlyList<string>? value) => Add(key, value is null ? "null" : List(value, Quote));
    public void Value(string key, StringOrList? value) =>
        Add(key, value is null ? "null" : value.Items is { } items ? List(items, Quote) : Quote(value.Text!));
    public void Value(string key, JsonElement? value) => Add(key, value is { } v ? Element(v) : "null");

    public void Null(string key) => Add(key, "null");

    /// <summary>A nested config object.</summary>
    public void Section(string key, Action<ConfigJsonWriter> write) => Add(key, Object(write));

    /// <summary>Keys kept from a file this version does not know, sorted in among the others.</summary>
    public void ExtensionData(IReadOnlyDictionary<string, JsonElement> values)
    {
        foreach (var pair in values) Add(pair.Key, Element(pair.Value));
    }

    private void Add(string key, string rendered) => _objects.Peek().Add(new KeyValuePair<string, string>(key, rendered));

    private string Object(Action<ConfigJsonWriter> write)
    {
        _objects.Push(new List<KeyValuePair<string, string>>());
        write(this);
        var members = _objects.Pop();
        members.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return Join('{', '}', members.ConvertAll(m => Quote(m.Key) + ": " + m.Value), Depth);
    }

    private string List<T>(IReadOnlyList<T> items, Func<T, string> render)
    {
        var rendered = new List<string>(items.Count);
        foreach (var item in items) rendered.Add(render(item));
        return Join('[', ']', rendered, Depth);
    }

    private string Element(JsonElement element) => Element(element, Depth);

    /// <summary>One canonical text per JSON value (keys sorted), for comparing values that were written differently.</summary>
    public static string Canonical(JsonElement element) => Element(element, 0);

    private static string Element(JsonElement element, int depth)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var members = new List<KeyValuePair<string, JsonElement>>();
                foreach (var p in element.EnumerateObject()) members.Add(new KeyValuePair<string, JsonElement>(p.Name, p.Value));
                members.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
                return Join('{', '}', members.ConvertAll(m => Quote(m.Key) + ": " + Element(m.Value, depth + 1)), depth);
            case JsonValueKind.Array:
                var items = new List<string>();
                foreach (var item in element.EnumerateArray()) items.Add(Element(item, depth + 1));
                return Join('[', ']', items, depth);
            case JsonValueKind.String: return Quote(element.GetString()!);
            case JsonValueKind.Number:
                return element.TryGetInt64(out var whole) && IsIntegerText(element.GetRawText())
                    ? whole.ToString(CultureInfo.InvariantCulture)
                    : PythonFloat(element.GetDouble());
            case JsonValueKind.True: return "true";
            case JsonValueKind.False: return "false";
            default: return "null";
        }
    }

    /// <summary>Items one per line at <paramref name="depth"/> + 1, closing bracket at <paramref name="depth"/>; empty is "[]" / "{}".</summary>
    private static string Join(char open, char close, List<string> items, int depth)
    {
        if (items.Count == 0) return new string(new[] { open, close });
        var inner = new string(' ', 2 * (depth + 1));
        var text = new StringBuilder().Append(open).Append('\n');
        for (var i = 0; i < items.Count; i++)
        {
            text.Append(inner).Append(items[i]);
            text.Append(i < items.Count - 1 ? ",\n" : "\n");
        }
        return text.Append(' ', 2 * depth).Append(close).ToString();
    }

    private static bool IsIntegerText(string raw) => raw.IndexOfAny(new[] { '.', 'e', 'E' }) < 0;

    /// <summary>A string literal with Python's ensure_ascii escaping.</summary>
    public static string Quote(string value)
    {
        var text = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e) text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else text.Append(c);
                    break;
            }
        }
        return text.Append('"').ToString();
    }

    /// <summary>
    /// Python's float repr: the shortest digits that round-trip, in positional form for decimal exponents from -4 to
    /// 15 (always with a fractional part, "3.0"), else scientific with at least two exponent digits ("1e-05").
    /// </summary>
    public static string PythonFloat(double value)
    {
        if (double.IsNaN(value)) return "NaN";
        if (double.IsPositiveInfinity(value)) return "Infinity";
        if (double.IsNegativeInfinity(value)) return "-Infinity";
        if (value == 0) return 1 / value < 0 ? "-0.0" : "0.0";

        // "R" gives the shortest round-trip digits; split them into sign, digits and the exponent of the first digit.
        var shortest = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var (digits, exponent) = Decompose(shortest);
        var sign = value < 0 ? "-" : "";
        if (exponent < -4 || exponent >= 16)
        {
            var mantissa = digits.Length == 1 ? digits : digits.Substring(0, 1) + "." + digits.Substring(1);
            var exp = Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
            return $"{sign}{mantissa}e{(exponent < 0 ? "-" : "+")}{exp}";
        }
        if (exponent < 0) return sign + "0." + new string('0', -exponent - 1) + digits;
        if (digits.Length <= exponent + 1) return sign + digits + new string('0', exponent + 1 - digits.Length) + ".0";
        return sign + digits.Substring(0, exponent + 1) + "." + digits.Substring(exponent + 1);
    }

    private static (string Digits, int Exponent) Decompose(string text)
    {
        var e = text.IndexOfAny(new[] { 'E', 'e' });
        var mantissa = e < 0 ? text : text.Substring(0, e);
        var exponent = e < 0 ? 0 : int.Parse(text.Substring(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var dot = mantissa.IndexOf('.');
        var intPart = dot < 0 ? mantissa : mantissa.Substring(0, dot);
        var fraction = dot < 0 ? "" : mantissa.Substring(dot + 1);
        var all = (intPart + fraction).TrimStart('0');
        var leadingZeros = (intPart + fraction).Length - all.Length;
        // Position of the first significant digit relative to the decimal point.
        var firstDigitExponent = intPart.Length - 1 - leadingZeros + exponent;
        all = all.TrimEnd('0');
        return (all.Length == 0 ? "0" : all, firstDigitExponent);
    }
}
