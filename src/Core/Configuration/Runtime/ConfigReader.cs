using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Linq;
using System.Text.Json;

namespace TrainableTokens.Core.Configuration;

/// <summary>
/// Typed reads from a <see cref="ConfigNode"/> tree for generated config classes. Each read either stores a value of
/// the right type or records a finding that names the field, the expected type and what was written instead, and
/// leaves the target at its default: reading never stops at the first problem.
/// </summary>
internal sealed class ConfigReader
{
    public ConfigReader(ConfigReadState state)
    {
        State = state;
    }

    public ConfigReadState State { get; }

    public ConfigOrigin Origin(ConfigNode? node, string path) => new(State, node, path);

    /// <summary>True when <paramref name="node"/> is a mapping of settings; otherwise records why not.</summary>
    public bool Mapping([NotNullWhen(true)] ConfigNode? node, string path)
    {
        if (node is null) return false;
        if (node.Shape == ConfigNodeShape.Mapping) return true;
        var what = path.Length == 0 ? "The file" : $"'{path}'";
        State.Error(path, node, node.IsNull && path.Length > 0
            ? $"{what} is empty. Write its settings below it, indented, or remove the line to use the defaults."
            : $"{what} must hold settings as 'key: value' lines, not {node.Describe()}.");
        return false;
    }

    /// <summary>The entry's key, or null (with a finding) when the key is not a plain name.</summary>
    public string? Key(ConfigEntry entry, string path)
    {
        if (entry.Key.Shape == ConfigNodeShape.Scalar && entry.Key.ScalarKind != ScalarKind.Null) return entry.Key.Text;
        State.Error(path, entry.Key, $"Keys must be names such as 'learning_rate', not {entry.Key.Describe()}.");
        return null;
    }

    /// <summary>
    /// A key the schema does not know: kept verbatim when reading PEFT's JSON, an error with a suggestion when reading
    /// a user's file. <paramref name="nestedKeys"/> are the dotted keys of the sections below, for "belongs under".
    /// </summary>
    public void Unknown(ConfigEntry entry, string path, IReadOnlyList<string> keys, IReadOnlyList<string> nestedKeys, Dictionary<string, JsonElement> extensionData)
    {
        if (State.KeepUnknownKeys)
        {
            extensionData[entry.Key.Text] = entry.Value.ToJsonElement();
            return;
        }
        var key = ConfigLimits.Quote(entry.Key.Text);
        var field = ConfigPath.Join(path, key);
        var where = path.Length == 0 ? "at the top level" : $"in '{path}'";
        var suggestion = KeySuggestion.Closest(key, keys);
        string message;
        if (suggestion is not null)
        {
            message = $"'{key}' is not a known setting {where}. Did you mean '{suggestion}'?";
            State.Suggested(ConfigPath.Join(path, suggestion));
        }
        else if (nestedKeys.FirstOrDefault(n => n.EndsWith("." + key, System.StringComparison.Ordinal)) is { } nested)
            message = $"'{key}' is not a setting {where}: it belongs under '{nested.Substring(0, nested.Length - key.Length - 1)}:'. Move it there.";
        else
            message = $"'{key}' is not a known setting {where}. Known settings: {string.Join(", ", keys)}.";
        State.Error(field, entry.Key, message);
    }

    /// <summary>Records a finding when the required <paramref name="key"/> is missing from <paramref name="node"/>; <paramref name="fix"/> says how to add it.</summary>
    public void Required(ConfigNode node, string path, string key, string fix)
    {
        if (node.Entry(key) is not null) return;
        var field = ConfigPath.Join(path, key);
        if (State.WasSuggested(field))
        {
            // "did you mean 'token_indices'?" already says it: one mistake, one finding.
            State.MarkFailed(field);
            return;
        }
        var where = path.Length == 0 ? "the file" : $"'{path}'";
        State.Error(field, node, $"'{key}' is required in {where}. {fix}");
    }

    public void Read(ConfigNode value, string field, string expected, ref int target)
    {
        if (Integer(value, field, expected, nullable: false) is { } v) target = v;
    }

    public void ReadNullable(ConfigNode value, string field, string expected, ref int? target)
    {
        if (value.IsNull) target = null;
        else if (Integer(value, field, expected, nullable: true) is { } v) target = v;
    }

    public void Read(ConfigNode value, string field, string expected, ref double target)
    {
        if (Number(value, field, expected, nullable: false) is { } v) target = v;
    }

    public void ReadNullable(ConfigNode value, string field, string expected, ref double? target)
    {
        if (value.IsNull) target = null;
        else if (Number(value, field, expected, nullable: true) is { } v) target = v;
    }

    public void Read(ConfigNode value, string field, string expected, ref bool target)
    {
        if (Boolean(value, field, expected, nullable: false) is { } v) target = v;
    }

    public void ReadNullable(ConfigNode value, string field, string expected, ref bool? target)
    {
        if (value.IsNull) target = null;
        else if (Boolean(value, field, expected, nullable: true) is { } v) target = v;
    }

    public void Read(ConfigNode value, string field, string expected, ref string target)
    {
        if (Text(value, field, expected, nullable: false) is { } v) target = v;
    }

    public void ReadNullable(ConfigNode value, string field, string expected, ref string? target)
    {
        if (value.IsNull) target = null;
        else if (Text(value, field, expected, nullable: true) is { } v) target = v;
    }

    public void Read(ConfigNode value, string field, string expected, ref IReadOnlyList<int> target)
    {
        if (List(value, field, expected, nullable: false, (item, itemField) => Integer(item, itemField, "a whole number", nullable: false)) is { } v) target = v;
    }

    public void ReadNullable(ConfigNode value, string field, string expected, ref IReadOnlyList<int>? target)
    {
        if (value.IsNull) target = null;
        else if (List(value, field, expected, nullable: true, (item, itemField) => Integer(item, itemField, "a whole number", nullable: false)) is { } v) target = v;
    }

    public void Read(ConfigNode value, string field, string expected, ref IReadOnlyList<double> target)
    {
        if (List(value, field, expected, nullable: false, (item, itemField) => Number(item, itemField, "a number", nullable: false)) is { } v) target = v;
    }

    public void ReadNullable(ConfigNode value, string field, string expected, ref IReadOnlyList<double>? target)
    {
        if (value.IsNull) target = null;
        else if (List(value, field, expected, nullable: true, (item, itemField) => Number(item, itemField, "a number", nullable: false)) is { } v) target = v;
    }

    public void Read(ConfigNode value, string field, string expected, ref IReadOnlyList<string> target)
    {
        if (List(value, field, expected, nullable: false, (item, itemField) => Text(item, itemField, "text", nullable: false)) is { } v) target = v;
    }

    public void ReadNullable(ConfigNode value, string field, string expected, ref IReadOnlyList<string>? target)
    {
        if (value.IsNull) target = null;
        else if (List(value, field, expected, nullable: true, (item, itemField) => Text(item, itemField, "text", nullable: false)) is { } v) target = v;
    }

    public void Read(ConfigNode value, string field, string expected, ref StringOrList target)
    {
        if (StringOrList(value, field, expected, nullable: false) is { } v) target = v;
    }

    public void ReadNullable(ConfigNode value, string field, string expected, ref StringOrList? target)
    {
        if (value.IsNull) target = null;
        else if (StringOrList(value, field, expected, nullable: true) is { } v) target = v;
    }

    /// <summary>A free-form object (PEFT's <c>auto_mapping</c>), kept as JSON; the schema's "object" type allows nothing else.</summary>
    public void ReadNullable(ConfigNode value, string field, string expected, ref JsonElement? target)
    {
        if (value.IsNull) target = null;
        else if (value.Shape == ConfigNodeShape.Mapping) target = value.ToJsonElement();
        else State.Error(field, value, $"'{field}' must be a mapping of keys and values, or null, not {value.Describe()}.");
        _ = expected;
    }

    /// <summary>A free-form value of the JSON types in <paramref name="shapes"/> (space-separated: array, object, boolean,
    /// string, integer, number), kept as JSON; what it means is checked by the config's own OnValidate.</summary>
    public void ReadNullable(ConfigNode value, string field, string expected, ref JsonElement? target, string shapes)
    {
        if (value.IsNull)
        {
            target = null;
            return;
        }
        var kind = value.Shape switch
        {
            ConfigNodeShape.Mapping => "object",
            ConfigNodeShape.Sequence => "array",
            _ => value.ScalarKind switch
            {
                ScalarKind.Boolean => "boolean",
                ScalarKind.Integer => "integer",
                ScalarKind.Float => "number",
                _ => "string",
            },
        };
        var allowed = shapes.Split(' ');
        if (System.Array.IndexOf(allowed, kind) >= 0 || (kind == "integer" && System.Array.IndexOf(allowed, "number") >= 0)) target = value.ToJsonElement();
        else State.Error(field, value, $"'{field}' must be {expected}, not {value.Describe()}.");
    }

    private int? Integer(ConfigNode value, string field, string expected, bool nullable)
    {
        if (value.Shape == ConfigNodeShape.Scalar && value.ScalarKind == ScalarKind.Integer)
        {
            if (YamlPlainScalar.TryParseInteger(value.Text, out var whole) && whole >= int.MinValue && whole <= int.MaxValue) return (int)whole;
            State.Error(field, value, $"'{field}' is {ConfigLimits.Quote(value.Text)}, which is too large: use a whole number from {int.MinValue} to {int.MaxValue}.");
            return null;
        }
        if (value.Shape == ConfigNodeShape.Scalar && value.ScalarKind == ScalarKind.Float && YamlPlainScalar.TryParseNumber(value.Text, out var number)
            && number == System.Math.Floor(number) && System.Math.Abs(number) <= int.MaxValue)
        {
            State.Error(field, value, $"'{field}' must be {expected}, not {ConfigLimits.Quote(value.Text)}. Write {((long)number).ToString(CultureInfo.InvariantCulture)} without the decimal point.");
            return null;
        }
        WrongType(value, field, expected, nullable);
        return null;
    }

    private double? Number(ConfigNode value, string field, string expected, bool nullable)
    {
        if (value.Shape == ConfigNodeShape.Scalar && value.ScalarKind is ScalarKind.Integer or ScalarKind.Float && YamlPlainScalar.TryParseNumber(value.Text, out var number))
        {
            if (double.IsFinite(number)) return number;
            State.Error(field, value, $"'{field}' must be a finite number, not {ConfigLimits.Quote(value.Text)}.");
            return null;
        }
        WrongType(value, field, expected, nullable);
        return null;
    }

    private bool? Boolean(ConfigNode value, string field, string expected, bool nullable)
    {
        if (value.Shape == ConfigNodeShape.Scalar && value.ScalarKind == ScalarKind.Boolean) return YamlPlainScalar.IsTrue(value.Text);
        if (value.Shape == ConfigNodeShape.Scalar && value.Text.ToLowerInvariant() is "yes" or "no" or "on" or "off" or "y" or "n")
        {
            State.Error(field, value, $"'{field}' must be true or false, not '{value.Text}' (YAML 1.2 reads '{value.Text}' as text). Write {(value.Text.ToLowerInvariant() is "yes" or "on" or "y" ? "true" : "false")}.");
            return null;
        }
        WrongType(value, field, expected, nullable);
        return null;
    }

    private string? Text(ConfigNode value, string field, string expected, bool nullable)
    {
        if (value.Shape == ConfigNodeShape.Scalar && value.ScalarKind == ScalarKind.String) return value.Text;
        if (value.Shape == ConfigNodeShape.Scalar && value.ScalarKind is ScalarKind.Boolean or ScalarKind.Integer or ScalarKind.Float)
        {
            // As in JSON Schema, 5 is a number and not text; quoting says which one is meant.
            State.Error(field, value, $"'{field}' must be {expected}, not {value.Describe()}. Put it in quotes if you mean the text: \"{ConfigLimits.Quote(value.Text)}\".");
            return null;
        }
        WrongType(value, field, expected, nullable);
        return null;
    }

    private StringOrList? StringOrList(ConfigNode value, string field, string expected, bool nullable)
    {
        if (value.Shape == ConfigNodeShape.Scalar && value.ScalarKind != ScalarKind.Null)
        {
            var text = Text(value, field, expected, nullable);
            return text is null ? null : Configuration.StringOrList.FromString(text);
        }
        if (value.Shape == ConfigNodeShape.Sequence)
        {
            var items = List(value, field, expected, nullable, (item, itemField) => Text(item, itemField, "text", nullable: false));
            return items is null ? null : Configuration.StringOrList.FromList(items);
        }
        WrongType(value, field, expected, nullable);
        return null;
    }

    private IReadOnlyList<T>? List<T>(ConfigNode value, string field, string expected, bool nullable, System.Func<ConfigNode, string, T?> readItem)
        where T : struct
    {
        if (value.Shape != ConfigNodeShape.Sequence)
        {
            WrongList(value, field, expected, nullable);
            return null;
        }
        var items = new List<T>(value.Items.Count);
        var ok = true;
        for (var i = 0; i < value.Items.Count; i++)
        {
            if (readItem(value.Items[i], ConfigPath.Item(field, i)) is { } item) items.Add(item);
            else ok = false;
        }
        return Finish(items, field, ok);
    }

    private IReadOnlyList<string>? List(ConfigNode value, string field, string expected, bool nullable, System.Func<ConfigNode, string, string?> readItem)
    {
        if (value.Shape != ConfigNodeShape.Sequence)
        {
            WrongList(value, field, expected, nullable);
            return null;
        }
        var items = new List<string>(value.Items.Count);
        var ok = true;
        for (var i = 0; i < value.Items.Count; i++)
        {
            if (readItem(value.Items[i], ConfigPath.Item(field, i)) is { } item) items.Add(item);
            else ok = false;
        }
        return Finish(items, field, ok);
    }

    private IReadOnlyList<T>? Finish<T>(List<T> items, string field, bool ok)
    {
        if (ok) return items;
        // A bad item leaves the whole list at its default; value checks then skip the field (its items were reported).
        State.MarkFailed(field);
        return null;
    }

    private void WrongList(ConfigNode value, string field, string expected, bool nullable)
    {
        if (value.Shape == ConfigNodeShape.Scalar && !value.IsNull)
        {
            State.Error(field, value, $"'{field}' must be {expected}, not {value.Describe()}. Write a list even for one value: [{ConfigLimits.Quote(value.Text)}].");
            return;
        }
        WrongType(value, field, expected, nullable);
    }

    private void WrongType(ConfigNode value, string field, string expected, bool nullable)
    {
        if (value.IsNull && !nullable)
        {
            State.Error(field, value, $"'{field}' must be {expected}; it is {(value.Text.Length == 0 ? "empty" : ConfigLimits.Quote(value.Text))}. Give it a value, or remove the line to use the default.");
            return;
        }
        var message = $"'{field}' must be {expected}, not {value.Describe()}.";
        // "0.001" in quotes is text in YAML and JSON alike: say so, since it looks right at a glance.
        if (value.Shape == ConfigNodeShape.Scalar && value.ScalarKind == ScalarKind.String && YamlPlainScalar.Resolve(value.Text) is not ScalarKind.String and not ScalarKind.Null)
            message += " Remove the quotes.";
        State.Error(field, value, message);
    }
}
