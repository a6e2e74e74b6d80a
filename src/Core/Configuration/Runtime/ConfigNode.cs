using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace TrainableTokens.Core.Configuration;

/// <summary>
/// One value of a config file, YAML or JSON alike, with where it was written: a mapping, a sequence or a scalar.
/// Generated config classes read from this tree, so both formats share one reader and one set of messages.
/// </summary>
internal sealed class ConfigNode
{
    private ConfigNode(ConfigNodeShape shape, ScalarKind scalarKind, string text, List<ConfigEntry>? entries, List<ConfigNode>? items, int? line, int? column)
    {
        Shape = shape;
        ScalarKind = scalarKind;
        Text = text;
        Entries = entries ?? (IReadOnlyList<ConfigEntry>)System.Array.Empty<ConfigEntry>();
        Items = items ?? (IReadOnlyList<ConfigNode>)System.Array.Empty<ConfigNode>();
        Line = line;
        Column = column;
        long weight = 1;
        var height = 0;
        foreach (var entry in Entries)
        {
            weight += entry.Key.Weight + entry.Value.Weight;
            height = System.Math.Max(height, System.Math.Max(entry.Key.Height, entry.Value.Height) + 1);
        }
        foreach (var item in Items)
        {
            weight += item.Weight;
            height = System.Math.Max(height, item.Height + 1);
        }
        Weight = weight;
        Height = height;
    }

    public ConfigNodeShape Shape { get; }

    /// <summary>For scalars: what the value is (a quoted YAML scalar is always a string).</summary>
    public ScalarKind ScalarKind { get; }

    /// <summary>For scalars: the text as written, without quotes.</summary>
    public string Text { get; }

    public IReadOnlyList<ConfigEntry> Entries { get; }
    public IReadOnlyList<ConfigNode> Items { get; }

    /// <summary>1-based line and column where the value starts; null when unknown.</summary>
    public int? Line { get; }
    public int? Column { get; }

    /// <summary>Values in this subtree, a YAML alias counted as often as it is used: what writing it out as JSON costs.</summary>
    public long Weight { get; }

    /// <summary>How many lists or mappings deep this subtree goes (0 for a scalar).</summary>
    public int Height { get; }

    public static ConfigNode Scalar(ScalarKind kind, string text, int? line, int? column) =>
        new(ConfigNodeShape.Scalar, kind, text, null, null, line, column);

    public static ConfigNode Mapping(List<ConfigEntry> entries, int? line, int? column) =>
        new(ConfigNodeShape.Mapping, ScalarKind.Null, "", entries, null, line, column);

    public static ConfigNode Sequence(List<ConfigNode> items, int? line, int? column) =>
        new(ConfigNodeShape.Sequence, ScalarKind.Null, "", null, items, line, column);

    public bool IsNull => Shape == ConfigNodeShape.Scalar && ScalarKind == ScalarKind.Null;

    /// <summary>The entry whose key is <paramref name="key"/>, or null (the first one if a key repeats).</summary>
    public ConfigEntry? Entry(string key)
    {
        foreach (var entry in Entries)
            if (entry.Key.Shape == ConfigNodeShape.Scalar && entry.Key.Text == key) return entry;
        return null;
    }

    /// <summary>Describes the value for a message: "the text 'fast'", "the number -3", "a list", "nothing (null)".</summary>
    public string Describe()
    {
        switch (Shape)
        {
            case ConfigNodeShape.Mapping: return "a mapping (key: value lines)";
            case ConfigNodeShape.Sequence: return "a list";
        }
        return ScalarKind switch
        {
            ScalarKind.Null => Text.Length == 0 ? "empty" : $"{Text} (no value)",
            ScalarKind.Boolean => Text,
            ScalarKind.Integer or ScalarKind.Float => $"the number {ConfigLimits.Quote(Text)}",
            _ => $"the text '{ConfigLimits.Quote(Text)}'",
        };
    }

    /// <summary>The value as JSON text, for values kept verbatim (unknown keys of an adapter_config.json).</summary>
    public JsonElement ToJsonElement()
    {
        var text = new StringBuilder();
        AppendJson(text);
        using var document = JsonDocument.Parse(text.ToString());
        return document.RootElement.Clone();
    }

    private void AppendJson(StringBuilder text)
    {
        switch (Shape)
        {
            case ConfigNodeShape.Mapping:
                text.Append('{');
                for (var i = 0; i < Entries.Count; i++)
                {
                    if (i > 0) text.Append(',');
                    text.Append(JsonSerializer.Serialize(Entries[i].Key.Text)).Append(':');
                    Entries[i].Value.AppendJson(text);
                }
                text.Append('}');
                return;
            case ConfigNodeShape.Sequence:
                text.Append('[');
                for (var i = 0; i < Items.Count; i++)
                {
                    if (i > 0) text.Append(',');
                    Items[i].AppendJson(text);
                }
                text.Append(']');
                return;
        }
        switch (ScalarKind)
        {
            case ScalarKind.Null: text.Append("null"); break;
            case ScalarKind.Boolean: text.Append(YamlPlainScalar.IsTrue(Text) ? "true" : "false"); break;
            case ScalarKind.Integer when YamlPlainScalar.TryParseInteger(Text, out var whole): text.Append(whole.ToString(CultureInfo.InvariantCulture)); break;
            case ScalarKind.Integer or ScalarKind.Float when YamlPlainScalar.TryParseNumber(Text, out var number) && double.IsFinite(number):
                // JSON numbers keep their text; YAML's forms (.5, 1e3) are rewritten into JSON's.
                text.Append(IsJsonNumber(Text) ? Text : number.ToString("R", CultureInfo.InvariantCulture));
                break;
            default: text.Append(JsonSerializer.Serialize(Text)); break;
        }
    }

    private static bool IsJsonNumber(string text) =>
        System.Text.RegularExpressions.Regex.IsMatch(text, @"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$");
}

internal enum ConfigNodeShape
{
    Scalar,
    Mapping,
    Sequence,
}

/// <summary>A key and its value in a mapping; the key keeps its own position for "unknown key" messages.</summary>
internal sealed record ConfigEntry(ConfigNode Key, ConfigNode Value);
