using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using TrainableTokens.Generators.Schema;

namespace TrainableTokens.Generators.JsonSchema;

/// <summary>
/// Writes a draft-07 JSON Schema for a config from the same parsed <c>*.schema.yaml</c> the generator uses, so editors
/// (yaml-language-server and others) validate and complete users' YAML by the rules <c>Validate()</c> applies. Sections
/// ($ref) are inlined under "definitions", so each file stands alone. The build writes one per schema.
/// </summary>
internal static class JsonSchemaWriter
{
    public const string Draft = "http://json-schema.org/draft-07/schema#";

    /// <summary>The JSON Schema file name for a config class: RunConfig -> RunConfig.schema.json.</summary>
    public static string FileNameOf(string className) => className + ".schema.json";

    public static string Write(ConfigSchema schema, IReadOnlyDictionary<string, ConfigSchema> all)
    {
        var root = new List<KeyValuePair<string, object>> { Pair("$schema", Draft) };
        if (schema.Id is { } id) root.Add(Pair("$id", id));
        root.AddRange(ObjectSchema(schema));
        var referenced = new List<string>();
        Collect(schema, all, referenced);
        if (referenced.Count > 0)
            root.Add(Pair("definitions", referenced.Select(name => Pair(name, (object)ObjectSchema(all[name]))).ToList()));
        var text = new StringBuilder();
        Render(text, root, 0);
        return text.Append('\n').ToString();
    }

    private static void Collect(ConfigSchema schema, IReadOnlyDictionary<string, ConfigSchema> all, List<string> referenced)
    {
        foreach (var property in schema.Properties.Where(p => p.Value.Type == SchemaType.Section))
        {
            var name = property.Value.Section!;
            if (referenced.Contains(name) || !all.TryGetValue(name, out var target)) continue;
            referenced.Add(name);
            Collect(target, all, referenced);
        }
    }

    private static List<KeyValuePair<string, object>> ObjectSchema(ConfigSchema schema)
    {
        var members = new List<KeyValuePair<string, object>> { Pair("title", schema.Title ?? schema.ClassName) };
        if (schema.Description is { } description) members.Add(Pair("description", description));
        members.Add(Pair("type", "object"));
        members.Add(Pair("properties", schema.Properties.Select(p => Pair(p.Name, (object)PropertySchema(p))).ToList()));
        var required = schema.Properties.Where(p => p.Required).Select(p => (object)p.Name).ToList();
        if (required.Count > 0) members.Add(Pair("required", required));
        members.Add(Pair("additionalProperties", new Raw("false")));
        return members;
    }

    private static List<KeyValuePair<string, object>> PropertySchema(SchemaProperty p)
    {
        var members = new List<KeyValuePair<string, object>>();
        if (p.Title is { } title) members.Add(Pair("title", title));
        var description = string.Join(" ", new[] { p.Description, p.Hint }.Where(s => s is not null));
        if (description.Length > 0) members.Add(Pair("description", description));
        var v = p.Value;
        switch (v.Type)
        {
            case SchemaType.Section:
                // draft-07 ignores keywords beside $ref, so the reference goes inside allOf and the description stays.
                var reference = new List<KeyValuePair<string, object>> { Pair("$ref", "#/definitions/" + v.Section) };
                // An optional section (default: null) may also be written as null.
                if (v.Nullable) members.Add(Pair("anyOf", new List<object> { reference, new List<KeyValuePair<string, object>> { Pair("type", "null") } }));
                else members.Add(Pair("allOf", new List<object> { reference }));
                break;
            case SchemaType.StringOrList:
                var branches = new List<object>
                {
                    Value(v with { Type = SchemaType.Array, Nullable = false }),
                    new List<KeyValuePair<string, object>> { Pair("type", "string") },
                };
                if (v.Nullable) branches.Add(new List<KeyValuePair<string, object>> { Pair("type", "null") });
                members.Add(Pair("oneOf", branches));
                break;
            default:
                members.AddRange(Value(v));
                break;
        }
        if (p.Default is { } d && v.Type != SchemaType.Section) members.Add(Pair("default", new Raw(d.Json)));
        if (p.Examples.Count > 0) members.Add(Pair("examples", p.Examples.Select(e => (object)new Raw(e.Json)).ToList()));
        if (p.ReadOnly) members.Add(Pair("readOnly", new Raw("true")));
        return members;
    }

    private static List<KeyValuePair<string, object>> Value(ValueSchema v)
    {
        var type = v.Type switch
        {
            SchemaType.String => "string",
            SchemaType.Integer => "integer",
            SchemaType.Number => "number",
            SchemaType.Boolean => "boolean",
            SchemaType.Array => "array",
            _ => "object",
        };
        var members = new List<KeyValuePair<string, object>>
        {
            Pair("type", v.Type == SchemaType.Json && v.Shapes.Count > 1 ? v.Shapes.Select(t => (object)t).Concat(v.Nullable ? new object[] { "null" } : new object[0]).ToList()
                : v.Nullable || v.Type == SchemaType.Json ? new List<object> { type, "null" } : type),
        };
        if (v.Enum.Count > 0)
        {
            var values = v.Enum.Select(e => (object)e).ToList();
            if (v.Nullable) values.Add(new Raw("null"));
            members.Add(Pair("enum", values));
        }
        if (v.Minimum is { } min) members.Add(Pair("minimum", Number(min)));
        if (v.ExclusiveMinimum is { } emin) members.Add(Pair("exclusiveMinimum", Number(emin)));
        if (v.Maximum is { } max) members.Add(Pair("maximum", Number(max)));
        if (v.ExclusiveMaximum is { } emax) members.Add(Pair("exclusiveMaximum", Number(emax)));
        if (v.Pattern is { } pattern) members.Add(Pair("pattern", pattern));
        if (v.Items is { } items) members.Add(Pair("items", Value(items)));
        if (v.MinItems is { } minItems) members.Add(Pair("minItems", new Raw(minItems.ToString(CultureInfo.InvariantCulture))));
        if (v.MaxItems is { } maxItems) members.Add(Pair("maxItems", new Raw(maxItems.ToString(CultureInfo.InvariantCulture))));
        if (v.UniqueItems) members.Add(Pair("uniqueItems", new Raw("true")));
        return members;
    }

    private static Raw Number(double value) => new(value.ToString("R", CultureInfo.InvariantCulture));

    private static KeyValuePair<string, object> Pair(string key, object value) => new(key, value);

    /// <summary>Two-space indented JSON; short lists of scalars stay on one line.</summary>
    private static void Render(StringBuilder text, object value, int depth)
    {
        switch (value)
        {
            case string s:
                text.Append(SchemaParser.JsonString(s));
                break;
            case Raw raw:
                text.Append(raw.Json);
                break;
            case List<KeyValuePair<string, object>> members:
                if (members.Count == 0)
                {
                    text.Append("{}");
                    break;
                }
                text.Append("{\n");
                for (var i = 0; i < members.Count; i++)
                {
                    text.Append(' ', 2 * (depth + 1)).Append(SchemaParser.JsonString(members[i].Key)).Append(": ");
                    Render(text, members[i].Value, depth + 1);
                    text.Append(i < members.Count - 1 ? ",\n" : "\n");
                }
                text.Append(' ', 2 * depth).Append('}');
                break;
            case List<object> items when items.All(i => i is string or Raw):
                text.Append('[');
                for (var i = 0; i < items.Count; i++)
                {
                    if (i > 0) text.Append(", ");
                    Render(text, items[i], depth + 1);
                }
                text.Append(']');
                break;
            case List<object> items:
                text.Append("[\n");
                for (var i = 0; i < items.Count; i++)
                {
                    text.Append(' ', 2 * (depth + 1));
                    Render(text, items[i], depth + 1);
                    text.Append(i < items.Count - 1 ? ",\n" : "\n");
                }
                text.Append(' ', 2 * depth).Append(']');
                break;
        }
    }

    /// <summary>JSON text written as it is (numbers, true/false/null, values from the schema).</summary>
    private sealed class Raw
    {
        public Raw(string json)
        {
            Json = json;
        }

        public string Json { get; }
    }
}
