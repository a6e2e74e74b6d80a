using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using TrainableTokens.Generators.Shared;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace TrainableTokens.Generators.Schema;

/// <summary>
/// Reads one <c>*.schema.yaml</c> file: a subset of JSON Schema written in YAML (type, enum, minimum/maximum,
/// exclusiveMinimum/exclusiveMaximum, minItems/maxItems, uniqueItems, pattern, default, description, title, examples,
/// readOnly, required, $ref to another schema file, and oneOf for "a list of strings or a string"), plus <c>x-hint</c>,
/// a sentence added to every message about the field. Everything else is a diagnostic with a position, never an
/// exception.
/// </summary>
internal static class SchemaParser
{
    public const string FileSuffix = ".schema.yaml";

    private static readonly string[] RootKeywords =
        { "$schema", "$id", "title", "description", "type", "properties", "required", "additionalProperties" };

    private static readonly string[] PropertyKeywords =
    {
        "type", "description", "title", "default", "examples", "enum", "minimum", "maximum", "exclusiveMinimum",
        "exclusiveMaximum", "minItems", "maxItems", "uniqueItems", "pattern", "items", "oneOf", "$ref", "readOnly", "x-hint",
    };

    private static readonly string[] ItemKeywords =
        { "type", "description", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "pattern" };

    /// <summary>Members every generated class has; a property may not take one of these names.</summary>
    private static readonly HashSet<string> ReservedMembers = new(StringComparer.Ordinal)
    {
        "Keys", "NestedKeys", "ExtensionData", "Origin", "Validate", "OnValidate", "FromYaml", "FromJson", "ToYaml", "ToJson",
        "Read", "WriteYaml", "WriteJson", "Equals", "GetHashCode", "ToString", "EqualityContract", "PrintMembers", "Deconstruct",
    };

    private static readonly Regex SnakeCase = new("^[a-z][a-z0-9]*(_[a-z0-9]+)*$", RegexOptions.CultureInvariant);
    private static readonly Regex ClassName = new("^[A-Z][A-Za-z0-9]*$", RegexOptions.CultureInvariant);

    public static ParsedSchema Parse(string path, string text, CancellationToken cancellationToken = default)
    {
        var context = new Context(path);
        var schema = ParseFile(context, path, text, cancellationToken);
        return new ParsedSchema(path, context.HasErrors ? null : schema, new EquatableArray<SchemaDiagnostic>(context.Diagnostics));
    }

    /// <summary>The class a schema file becomes: its name without <c>.schema.yaml</c>.</summary>
    public static string ClassNameOf(string path)
    {
        var name = Path.GetFileName(path);
        return name.EndsWith(FileSuffix, StringComparison.OrdinalIgnoreCase) ? name.Substring(0, name.Length - FileSuffix.Length) : name;
    }

    private static ConfigSchema? ParseFile(Context context, string path, string text, CancellationToken cancellationToken)
    {
        var className = ClassNameOf(path);
        if (!ClassName.IsMatch(className))
            context.Report(SchemaDiagnosticIds.InvalidFileName, Context.FileStart,
                $"The schema file name '{Path.GetFileName(path)}' must be a PascalCase class name followed by '{FileSuffix}', such as 'TrainingConfig{FileSuffix}'.");

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            context.Report(SchemaDiagnosticIds.InvalidYaml, Context.SpanOf(e.Start, e.End), $"The schema is not valid YAML: {e.Message}");
            return null;
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var at = stream.Documents.Count == 0 ? Context.FileStart : Context.SpanOf(stream.Documents[0].RootNode);
            context.Report(SchemaDiagnosticIds.NotAnObjectSchema, at, "A schema must be a mapping with 'type: object' and 'properties'.");
            return null;
        }

        string? id = null, title = null, description = null;
        YamlMappingNode? properties = null;
        YamlSequenceNode? required = null;
        var sawType = false;
        foreach (var entry in root.Children)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var key = KeyOf(context, entry.Key);
            switch (key)
            {
                case null:
                    break;
                case "$schema":
                    context.String(entry.Value, key);
                    break;
                case "$id":
                    id = context.String(entry.Value, key);
                    break;
                case "title":
                    title = context.String(entry.Value, key);
                    break;
                case "description":
                    description = Prose(context.String(entry.Value, key));
                    break;
                case "type":
                    sawType = true;
                    if (entry.Value is not YamlScalarNode { Value: "object" })
                        context.Report(SchemaDiagnosticIds.NotAnObjectSchema, entry.Value, "A schema file describes one object: write 'type: object'.");
                    break;
                case "properties":
                    properties = entry.Value as YamlMappingNode;
                    if (properties is null)
                        context.Report(SchemaDiagnosticIds.NotAnObjectSchema, entry.Value, "'properties' must be a mapping from property names to their schemas.");
                    break;
                case "required":
                    required = entry.Value as YamlSequenceNode;
                    if (required is null)
                        context.Report(SchemaDiagnosticIds.InvalidKeywordValue, entry.Value, "'required' must be a list of property names.");
                    break;
                case "additionalProperties":
                    if (entry.Value is not YamlScalarNode { Value: "false" })
                        context.Report(SchemaDiagnosticIds.InvalidKeywordValue, entry.Value,
                            "Only 'additionalProperties: false' is supported: unknown keys are errors in users' files (and kept verbatim when reading JSON).");
                    break;
                default:
                    context.UnknownKeyword(entry.Key, key, RootKeywords, "at the top of a schema");
                    break;
            }
        }
        if (!sawType) context.Report(SchemaDiagnosticIds.NotAnObjectSchema, root, "The schema has no 'type'. Write 'type: object'.");
        if (properties is null)
        {
            context.Report(SchemaDiagnosticIds.NotAnObjectSchema, root, "The schema has no 'properties'. List the config's settings under 'properties:'.");
            return null;
        }

        var requiredNames = RequiredNames(context, required, properties);
        var parsed = new List<SchemaProperty>();
        var csharpNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in properties.Children)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = KeyOf(context, entry.Key);
            if (name is null) continue;
            var property = ParseProperty(context, entry.Key, name, entry.Value, requiredNames.Contains(name), className);
            if (property is null) continue;
            if (!csharpNames.Add(property.PropertyName))
                context.Report(SchemaDiagnosticIds.NameCollision, entry.Key, $"'{name}' becomes the C# name '{property.PropertyName}', which another property already has.");
            parsed.Add(property);
        }
        return new ConfigSchema(path, Path.GetFileName(path), className, id, title, description, new EquatableArray<SchemaProperty>(parsed), Context.SpanOf(root));
    }

    private static HashSet<string> RequiredNames(Context context, YamlSequenceNode? required, YamlMappingNode properties)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (required is null) return names;
        var known = properties.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value ?? "").ToList();
        foreach (var item in required.Children)
        {
            var name = context.String(item, "required");
            if (name is null) continue;
            if (!known.Contains(name))
            {
                var suggestion = KeySuggestion.Closest(name, known);
                context.Report(SchemaDiagnosticIds.UnknownRequired, item,
                    $"'required' names '{name}', which is not a property of this schema." + (suggestion is null ? "" : $" Did you mean '{suggestion}'?"));
            }
            names.Add(name);
        }
        return names;
    }

    private static SchemaProperty? ParseProperty(Context context, YamlNode keyNode, string name, YamlNode node, bool required, string className)
    {
        if (!SnakeCase.IsMatch(name))
        {
            context.Report(SchemaDiagnosticIds.InvalidPropertyName, keyNode,
                $"Property '{name}' must be snake_case (lower-case words joined by '_'), as it is written in users' files.");
            return null;
        }
        var propertyName = PascalCase(name);
        if (ReservedMembers.Contains(propertyName) || propertyName == className)
        {
            context.Report(SchemaDiagnosticIds.NameCollision, keyNode,
                $"Property '{name}' becomes the C# name '{propertyName}', which the generated class already uses. Choose another name.");
            return null;
        }
        if (node is not YamlMappingNode mapping)
        {
            context.Report(SchemaDiagnosticIds.InvalidKeywordValue, node, $"The schema of '{name}' must be a mapping of keywords such as 'type: string'.");
            return null;
        }

        var keywords = Keywords(context, mapping, PropertyKeywords, $"in the schema of '{name}'");
        var value = ParseValueSchema(context, name, mapping, keywords, isItem: false);
        if (value is null) return null;
        // A section with default: null is optional and absent unless given (a run file's trainable_tokens or lora).
        if (value.Type == SchemaType.Section && keywords.TryGetValue("default", out var sectionDefault) && ValueOf(sectionDefault).IsNull)
            value = value with { Nullable = true };

        var description = keywords.TryGetValue("description", out var d) ? Prose(context.String(d, "description")) : null;
        var title = keywords.TryGetValue("title", out var t) ? context.String(t, "title") : null;
        var hint = keywords.TryGetValue("x-hint", out var h) ? Prose(context.String(h, "x-hint")) : null;
        var readOnly = keywords.TryGetValue("readOnly", out var r) && context.Boolean(r, "readOnly");
        var examples = new List<SchemaValue>();
        if (keywords.TryGetValue("examples", out var e))
        {
            if (e is YamlSequenceNode list) examples.AddRange(list.Children.Select(item => ValueOf(item)));
            else context.Report(SchemaDiagnosticIds.InvalidKeywordValue, e, "'examples' must be a list of example values (JSON Schema's form).");
        }

        SchemaValue? @default = null;
        if (keywords.TryGetValue("default", out var defaultNode))
        {
            @default = ValueOf(defaultNode);
            if (required)
                context.Report(SchemaDiagnosticIds.InvalidDefault, defaultNode,
                    $"'{name}' is required, so a default would never be used. Remove it, or put the value in 'examples'.");
            else if (CheckDefault(value, @default) is { } problem)
                context.Report(SchemaDiagnosticIds.InvalidDefault, defaultNode, $"The default of '{name}' {problem}");
        }
        else if (!required && !value.Nullable && value.Type != SchemaType.Section)
        {
            context.Report(SchemaDiagnosticIds.MissingDefault, keyNode,
                $"'{name}' is optional, so it needs a default (or allow null with type: [{TypeName(value.Type)}, \"null\"]), or list it under 'required'.");
        }

        return new SchemaProperty(name, propertyName, value, required, @default, title, description, readOnly,
            new EquatableArray<SchemaValue>(examples), hint, Context.SpanOf(keyNode));
    }

    private static ValueSchema? ParseValueSchema(Context context, string name, YamlMappingNode node, Dictionary<string, YamlNode> keywords, bool isItem)
    {
        if (keywords.TryGetValue("$ref", out var reference))
        {
            foreach (var other in new[] { "type", "oneOf", "items", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "uniqueItems", "pattern" })
                if (keywords.ContainsKey(other))
                    context.Report(SchemaDiagnosticIds.InvalidKeywordValue, keywords[other], $"'{name}' has a $ref, so '{other}' belongs in the referenced schema file.");
            var target = context.String(reference, "$ref");
            if (target is null) return null;
            if (target.StartsWith("./", StringComparison.Ordinal)) target = target.Substring(2);
            if (!target.EndsWith(FileSuffix, StringComparison.Ordinal) || target.IndexOfAny(new[] { '/', '\\', '#' }) >= 0)
            {
                context.Report(SchemaDiagnosticIds.InvalidReference, reference,
                    $"$ref must name another schema file in the same folder, such as 'TrainingConfig{FileSuffix}'.");
                return null;
            }
            return Plain(SchemaType.Section, nullable: false) with { Section = ClassNameOf(target) };
        }

        if (keywords.TryGetValue("oneOf", out var oneOf)) return ParseOneOf(context, name, oneOf, keywords);

        if (!keywords.TryGetValue("type", out var typeNode))
        {
            context.Report(SchemaDiagnosticIds.UnsupportedType, node, $"'{name}' has no 'type'. Give one of: string, integer, number, boolean, array{(isItem ? "" : ", or a $ref to another schema")}.");
            return null;
        }
        if (ParseType(context, name, typeNode) is not { } type) return null;
        var (kind, nullable, shapes) = type;
        if (isItem && (kind is SchemaType.Array or SchemaType.Json || nullable))
        {
            context.Report(SchemaDiagnosticIds.UnsupportedType, typeNode, "List items must be strings, integers, numbers or booleans (not null, lists or objects).");
            return null;
        }
        if (kind == SchemaType.Json && !nullable)
        {
            context.Report(SchemaDiagnosticIds.UnsupportedType, typeNode,
                $"'{name}': an object is either a section in its own schema file ($ref), or a free-form value with type: [object, \"null\"].");
            return null;
        }

        ValueSchema? items = null;
        if (kind == SchemaType.Array)
        {
            if (!keywords.TryGetValue("items", out var itemsNode) || itemsNode is not YamlMappingNode itemsMapping)
            {
                context.Report(SchemaDiagnosticIds.UnsupportedType, typeNode, $"'{name}' is an array, so it needs 'items' with the items' type, such as 'items: {{ type: integer }}'.");
                return null;
            }
            var itemKeywords = Keywords(context, itemsMapping, ItemKeywords, $"in the items of '{name}'");
            items = ParseValueSchema(context, name + "[]", itemsMapping, itemKeywords, isItem: true);
            if (items is null) return null;
        }
        else if (keywords.TryGetValue("items", out var strayItems))
        {
            context.Report(SchemaDiagnosticIds.InvalidKeywordValue, strayItems, $"'items' applies to arrays, and '{name}' is {TypeName(kind)}.");
        }
        return Constraints(context, name, keywords, Plain(kind, nullable) with { Items = items, Shapes = shapes });
    }

    /// <summary>oneOf is supported for one shape only: a list of strings, or a string, or (optionally) null.</summary>
    private static ValueSchema? ParseOneOf(Context context, string name, YamlNode oneOf, Dictionary<string, YamlNode> keywords)
    {
        const string shape = "oneOf is supported for 'a list of strings or a string' only: [{ type: array, items: { type: string } }, { type: string }], optionally with { type: \"null\" }.";
        foreach (var other in new[] { "type", "items", "enum", "pattern", "minimum", "maximum", "minItems", "uniqueItems" })
            if (keywords.ContainsKey(other))
                context.Report(SchemaDiagnosticIds.UnsupportedOneOf, keywords[other], $"'{name}' has oneOf, so '{other}' belongs inside one of its branches.");
        if (oneOf is not YamlSequenceNode branches)
        {
            context.Report(SchemaDiagnosticIds.UnsupportedOneOf, oneOf, shape);
            return null;
        }
        ValueSchema? list = null;
        bool sawString = false, sawNull = false;
        foreach (var branch in branches.Children)
        {
            if (branch is not YamlMappingNode mapping)
            {
                context.Report(SchemaDiagnosticIds.UnsupportedOneOf, branch, shape);
                return null;
            }
            var branchKeywords = Keywords(context, mapping, new[] { "type", "items", "minItems", "maxItems", "uniqueItems", "description" }, $"in a oneOf branch of '{name}'");
            var branchType = branchKeywords.TryGetValue("type", out var t) ? (t as YamlScalarNode)?.Value : null;
            if (branchType == "string" && !sawString) sawString = true;
            else if (branchType == "null" && !sawNull) sawNull = true;
            else if (branchType == "array" && list is null && ParseValueSchema(context, name, mapping, branchKeywords, isItem: false) is { Items.Type: SchemaType.String } parsed)
                list = parsed;
            else
            {
                context.Report(SchemaDiagnosticIds.UnsupportedOneOf, branch, shape);
                return null;
            }
        }
        if (list is null || !sawString)
        {
            context.Report(SchemaDiagnosticIds.UnsupportedOneOf, oneOf, shape);
            return null;
        }
        return list with { Type = SchemaType.StringOrList, Nullable = sawNull };
    }

    private static (SchemaType Type, bool Nullable, EquatableArray<string> Shapes)? ParseType(Context context, string name, YamlNode node)
    {
        var names = node switch
        {
            YamlScalarNode scalar => new List<YamlScalarNode> { scalar },
            YamlSequenceNode sequence when sequence.Children.All(c => c is YamlScalarNode) => sequence.Children.Cast<YamlScalarNode>().ToList(),
            _ => null,
        };
        if (names is null)
        {
            context.Report(SchemaDiagnosticIds.UnsupportedType, node, $"The type of '{name}' must be a type name, or a list of one type name and \"null\".");
            return null;
        }
        var nullable = names.Any(n => n.Value == "null");
        var others = names.Where(n => n.Value != "null").ToList();
        var jsonTypes = new[] { "array", "object", "boolean", "string", "integer", "number" };
        if (others.Count > 1 && others.All(n => jsonTypes.Contains(n.Value)) && others.Select(n => n.Value).Distinct().Count() == others.Count)
        {
            // Several JSON types (PEFT's trainable_token_indices: a list or a mapping): a free-form value of those types.
            return (SchemaType.Json, nullable, new EquatableArray<string>(others.Select(n => n.Value!)));
        }
        if (others.Count != 1)
        {
            context.Report(SchemaDiagnosticIds.UnsupportedType, node,
                $"'{name}' must have exactly one type besides \"null\", or several JSON types for a free-form value; for 'a list of strings or a string' use oneOf.");
            return null;
        }
        SchemaType? type = others[0].Value switch
        {
            "string" => SchemaType.String,
            "integer" => SchemaType.Integer,
            "number" => SchemaType.Number,
            "boolean" => SchemaType.Boolean,
            "array" => SchemaType.Array,
            "object" => SchemaType.Json,
            _ => null,
        };
        if (type is null)
        {
            var suggestion = KeySuggestion.Closest(others[0].Value ?? "", new[] { "string", "integer", "number", "boolean", "array", "object", "null" });
            context.Report(SchemaDiagnosticIds.UnsupportedType, others[0],
                $"'{others[0].Value}' is not a type. Use string, integer, number, boolean, array, object or null." + (suggestion is null ? "" : $" Did you mean '{suggestion}'?"));
            return null;
        }
        return (type.Value, nullable, type == SchemaType.Json ? new EquatableArray<string>(new[] { "object" }) : EquatableArray<string>.Empty);
    }

    private static ValueSchema Constraints(Context context, string name, Dictionary<string, YamlNode> keywords, ValueSchema value)
    {
        var numeric = value.Type is SchemaType.Integer or SchemaType.Number;
        var listy = value.Type is SchemaType.Array or SchemaType.StringOrList;
        double? Bound(string keyword)
        {
            if (!keywords.TryGetValue(keyword, out var node)) return null;
            if (!numeric)
            {
                context.Report(SchemaDiagnosticIds.InvalidKeywordValue, node, $"'{keyword}' applies to integers and numbers, and '{name}' is {TypeName(value.Type)}.");
                return null;
            }
            if (node is YamlScalarNode s && YamlPlainScalar.Resolve(s.Value ?? "") is ScalarKind.Integer or ScalarKind.Float
                && YamlPlainScalar.TryParseNumber(s.Value ?? "", out var number) && !double.IsNaN(number) && !double.IsInfinity(number))
                return number;
            context.Report(SchemaDiagnosticIds.InvalidKeywordValue, node, $"'{keyword}' must be a number.");
            return null;
        }
        int? Count(string keyword)
        {
            if (!keywords.TryGetValue(keyword, out var node)) return null;
            if (!listy)
            {
                context.Report(SchemaDiagnosticIds.InvalidKeywordValue, node, $"'{keyword}' applies to arrays, and '{name}' is {TypeName(value.Type)}.");
                return null;
            }
            if (node is YamlScalarNode s && int.TryParse(s.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var count)) return count;
            context.Report(SchemaDiagnosticIds.InvalidKeywordValue, node, $"'{keyword}' must be a whole number, 0 or more.");
            return null;
        }

        var result = value with
        {
            Minimum = Bound("minimum"),
            Maximum = Bound("maximum"),
            ExclusiveMinimum = Bound("exclusiveMinimum"),
            ExclusiveMaximum = Bound("exclusiveMaximum"),
            MinItems = value.MinItems ?? Count("minItems"),
            MaxItems = value.MaxItems ?? Count("maxItems"),
        };
        if (result.Minimum is { } min && result.Maximum is { } max && min > max && keywords.TryGetValue("minimum", out var minNode))
            context.Report(SchemaDiagnosticIds.InvalidKeywordValue, minNode, $"'{name}' has minimum {min} above maximum {max}; no value could pass.");

        if (keywords.TryGetValue("uniqueItems", out var unique))
        {
            if (value.Type != SchemaType.Array)
                context.Report(SchemaDiagnosticIds.InvalidKeywordValue, unique, $"'uniqueItems' applies to arrays, and '{name}' is {TypeName(value.Type)}.");
            else result = result with { UniqueItems = context.Boolean(unique, "uniqueItems") };
        }
        if (keywords.TryGetValue("pattern", out var patternNode))
        {
            var pattern = context.String(patternNode, "pattern");
            if (value.Type != SchemaType.String)
                context.Report(SchemaDiagnosticIds.InvalidKeywordValue, patternNode, $"'pattern' applies to strings, and '{name}' is {TypeName(value.Type)}.");
            else if (pattern is not null)
            {
                try
                {
                    _ = new Regex(pattern, RegexOptions.CultureInvariant);
                    result = result with { Pattern = pattern };
                }
                catch (ArgumentException e)
                {
                    context.Report(SchemaDiagnosticIds.InvalidPattern, patternNode, $"The pattern of '{name}' is not a valid regular expression: {e.Message}");
                }
            }
        }
        if (keywords.TryGetValue("enum", out var enumNode))
        {
            if (value.Type != SchemaType.String)
                context.Report(SchemaDiagnosticIds.InvalidEnum, enumNode, $"'enum' is supported for strings, and '{name}' is {TypeName(value.Type)}.");
            else if (enumNode is not YamlSequenceNode { Children.Count: > 0 } values)
                context.Report(SchemaDiagnosticIds.InvalidEnum, enumNode, $"The enum of '{name}' must be a non-empty list of strings.");
            else
            {
                var allowed = new List<string>();
                foreach (var item in values.Children)
                {
                    if (item is not YamlScalarNode scalar || scalar.Value is null || (scalar.Style == ScalarStyle.Plain && YamlPlainScalar.Resolve(scalar.Value) != ScalarKind.String))
                        context.Report(SchemaDiagnosticIds.InvalidEnum, item, $"The enum of '{name}' must list strings; quote values such as \"1\" or \"null\".");
                    else if (allowed.Contains(scalar.Value))
                        context.Report(SchemaDiagnosticIds.InvalidEnum, item, $"The enum of '{name}' lists '{scalar.Value}' twice.");
                    else allowed.Add(scalar.Value);
                }
                result = result with { Enum = new EquatableArray<string>(allowed) };
            }
        }
        return result;
    }

    /// <summary>Null when <paramref name="value"/> fits <paramref name="schema"/>; otherwise the end of a sentence saying why not.</summary>
    private static string? CheckDefault(ValueSchema schema, SchemaValue value)
    {
        if (value.IsNull) return schema.Nullable ? null : "is null, but the type does not allow null. Add \"null\" to its type, or give a value.";
        switch (schema.Type)
        {
            case SchemaType.Section:
                return value.Kind == SchemaValueKind.Mapping && value.Items.Count == 0 ? null : "must be {} (the section with all its defaults), null (the section is absent unless given), or left out.";
            case SchemaType.Json:
                return "must be null for a free-form value.";
            case SchemaType.StringOrList:
                if (value.Kind == SchemaValueKind.String) return null;
                if (value.Kind == SchemaValueKind.Sequence && value.Items.All(i => i.Kind == SchemaValueKind.String))
                    return value.Items.Count < (schema.MinItems ?? 0) ? $"lists fewer than minItems ({schema.MinItems}) values." : null;
                return "must be a string or a list of strings.";
            case SchemaType.Array:
                if (value.Kind != SchemaValueKind.Sequence) return "must be a list.";
                if (value.Items.Count < (schema.MinItems ?? 0)) return $"lists fewer than minItems ({schema.MinItems}) values.";
                if (value.Items.Count > (schema.MaxItems ?? int.MaxValue)) return $"lists more than maxItems ({schema.MaxItems}) values.";
                foreach (var item in value.Items)
                    if (CheckDefault(schema.Items!, item) is { } problem) return $"has an item that {problem}";
                return null;
        }
        var kindFits = schema.Type switch
        {
            SchemaType.String => value.Kind == SchemaValueKind.String,
            SchemaType.Integer => value.Kind == SchemaValueKind.Integer && YamlPlainScalar.TryParseInteger(value.Json, out var whole) && whole >= int.MinValue && whole <= int.MaxValue,
            SchemaType.Number => value.Kind is SchemaValueKind.Integer or SchemaValueKind.Float,
            SchemaType.Boolean => value.Kind == SchemaValueKind.Boolean,
            _ => false,
        };
        if (!kindFits) return $"is {value.Yaml}, which is not {TypeName(schema.Type)}.";
        if (schema.Type is SchemaType.Integer or SchemaType.Number)
        {
            var number = double.Parse(value.Json, NumberStyles.Float, CultureInfo.InvariantCulture);
            if (number < schema.Minimum || number > schema.Maximum || number <= schema.ExclusiveMinimum || number >= schema.ExclusiveMaximum)
                return $"is {value.Yaml}, outside the property's own bounds.";
        }
        if (schema.Type == SchemaType.String)
        {
            var text = JsonStringValue(value.Json);
            if (schema.Enum.Count > 0 && !schema.Enum.Contains(text)) return $"is '{text}', which is not in its enum.";
            if (schema.Pattern is { } pattern && !Regex.IsMatch(text, pattern)) return $"is '{text}', which does not match its pattern.";
        }
        return null;
    }

    /// <summary>A YAML value as a <see cref="SchemaValue"/>: JSON text and YAML display, resolved as YAML 1.2 would.</summary>
    private static SchemaValue ValueOf(YamlNode node)
    {
        switch (node)
        {
            case YamlSequenceNode sequence:
            {
                var items = sequence.Children.Select(ValueOf).ToList();
                return new SchemaValue(SchemaValueKind.Sequence, "[" + string.Join(", ", items.Select(i => i.Json)) + "]",
                    "[" + string.Join(", ", items.Select(i => i.Yaml)) + "]", new EquatableArray<SchemaValue>(items));
            }
            case YamlMappingNode mapping:
            {
                var entries = mapping.Children.Select(e => (Key: ((e.Key as YamlScalarNode)?.Value) ?? "", Value: ValueOf(e.Value))).ToList();
                var json = "{" + string.Join(", ", entries.Select(e => JsonString(e.Key) + ": " + e.Value.Json)) + "}";
                var yaml = "{" + string.Join(", ", entries.Select(e => e.Key + ": " + e.Value.Yaml)) + "}";
                return new SchemaValue(SchemaValueKind.Mapping, json, yaml, new EquatableArray<SchemaValue>(entries.Select(e => e.Value)));
            }
            case YamlScalarNode scalar:
            {
                var text = scalar.Value ?? "";
                var kind = scalar.Style == ScalarStyle.Plain ? YamlPlainScalar.Resolve(text) : ScalarKind.String;
                return kind switch
                {
                    ScalarKind.Null => new SchemaValue(SchemaValueKind.Null, "null", "null", EquatableArray<SchemaValue>.Empty),
                    ScalarKind.Boolean => Scalar(SchemaValueKind.Boolean, YamlPlainScalar.IsTrue(text) ? "true" : "false"),
                    ScalarKind.Integer when YamlPlainScalar.TryParseInteger(text, out var whole) => Scalar(SchemaValueKind.Integer, whole.ToString(CultureInfo.InvariantCulture)),
                    ScalarKind.Integer or ScalarKind.Float when YamlPlainScalar.TryParseNumber(text, out var number) && !double.IsNaN(number) && !double.IsInfinity(number)
                        => Scalar(SchemaValueKind.Float, number.ToString("R", CultureInfo.InvariantCulture)),
                    _ => new SchemaValue(SchemaValueKind.String, JsonString(text), YamlDisplay(text), EquatableArray<SchemaValue>.Empty),
                };
            }
            default:
                return new SchemaValue(SchemaValueKind.Null, "null", "null", EquatableArray<SchemaValue>.Empty);
        }
    }

    private static SchemaValue Scalar(SchemaValueKind kind, string text) => new(kind, text, text, EquatableArray<SchemaValue>.Empty);

    private static string YamlDisplay(string text) =>
        Regex.IsMatch(text, @"^[A-Za-z0-9_./~][A-Za-z0-9_./~:@+=-]*$") && YamlPlainScalar.Resolve(text) == ScalarKind.String ? text : JsonString(text);

    /// <summary>A JSON string literal; its escapes (\" \\ \n \r \t \b \f \uXXXX) are also valid in C# and YAML.</summary>
    public static string JsonString(string text)
    {
        var builder = new StringBuilder(text.Length + 2).Append('"');
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case '\b': builder.Append("\\b"); break;
                case '\f': builder.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e) builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else builder.Append(c);
                    break;
            }
        }
        return builder.Append('"').ToString();
    }

    /// <summary>The text of a JSON string literal made by <see cref="JsonString"/>.</summary>
    public static string JsonStringValue(string json) => Regex.Unescape(json.Substring(1, json.Length - 2));

    public static string TypeName(SchemaType type) => type switch
    {
        SchemaType.String => "a string",
        SchemaType.Integer => "an integer",
        SchemaType.Number => "a number",
        SchemaType.Boolean => "a boolean",
        SchemaType.Array => "an array",
        SchemaType.Section => "a section",
        SchemaType.StringOrList => "a string or a list",
        _ => "an object",
    };

    private static ValueSchema Plain(SchemaType type, bool nullable) =>
        new(type, nullable, null, null, EquatableArray<string>.Empty, null, null, null, null, null, null, false, null);

    /// <summary>snake_case to PascalCase: token_indices -> TokenIndices.</summary>
    public static string PascalCase(string snake) =>
        string.Concat(snake.Split('_').Select(part => part.Length == 0 ? "" : char.ToUpperInvariant(part[0]) + part.Substring(1)));

    /// <summary>Descriptions folded onto one line: YAML block scalars keep line breaks that prose does not need.</summary>
    private static string? Prose(string? text) => text is null ? null : Regex.Replace(text.Trim(), @"\s+", " ");

    private static string? KeyOf(Context context, YamlNode key)
    {
        if (key is YamlScalarNode { Value: { Length: > 0 } name }) return name;
        context.Report(SchemaDiagnosticIds.InvalidKeywordValue, key, "Keys in a schema must be plain names.");
        return null;
    }

    private static Dictionary<string, YamlNode> Keywords(Context context, YamlMappingNode mapping, string[] allowed, string where)
    {
        var keywords = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var entry in mapping.Children)
        {
            var key = KeyOf(context, entry.Key);
            if (key is null) continue;
            if (Array.IndexOf(allowed, key) < 0) context.UnknownKeyword(entry.Key, key, allowed, where);
            else keywords[key] = entry.Value;
        }
        return keywords;
    }

    /// <summary>Collects diagnostics with positions in one schema file.</summary>
    private sealed class Context
    {
        private readonly string _path;

        public Context(string path)
        {
            _path = path;
        }

        public static SourceSpan FileStart { get; } = new(0, 0, 0, 0, 0, 0);

        public List<SchemaDiagnostic> Diagnostics { get; } = new();

        public bool HasErrors => Diagnostics.Count > 0;

        public void Report(string id, SourceSpan span, string message) => Diagnostics.Add(new SchemaDiagnostic(id, message, _path, span));

        public void Report(string id, YamlNode node, string message) => Report(id, SpanOf(node), message);

        public void UnknownKeyword(YamlNode keyNode, string key, IEnumerable<string> allowed, string where)
        {
            var suggestion = KeySuggestion.Closest(key, allowed);
            Report(SchemaDiagnosticIds.UnsupportedKeyword, keyNode,
                $"'{key}' is not a supported keyword {where}." + (suggestion is null ? $" Supported: {string.Join(", ", allowed)}." : $" Did you mean '{suggestion}'?"));
        }

        public string? String(YamlNode node, string keyword)
        {
            if (node is YamlScalarNode { Value: { } text } scalar && (scalar.Style != ScalarStyle.Plain || YamlPlainScalar.Resolve(text) == ScalarKind.String))
                return text;
            Report(SchemaDiagnosticIds.InvalidKeywordValue, node, $"'{keyword}' must be a string.");
            return null;
        }

        public bool Boolean(YamlNode node, string keyword)
        {
            if (node is YamlScalarNode { Style: ScalarStyle.Plain, Value: { } text } && YamlPlainScalar.Resolve(text) == ScalarKind.Boolean)
                return YamlPlainScalar.IsTrue(text);
            Report(SchemaDiagnosticIds.InvalidKeywordValue, node, $"'{keyword}' must be true or false.");
            return false;
        }

        public static SourceSpan SpanOf(YamlNode node) => SpanOf(node.Start, node.End);

        public static SourceSpan SpanOf(Mark start, Mark end)
        {
            var startIndex = (int)Math.Max(0, start.Index);
            var endIndex = (int)Math.Max(startIndex, end.Index);
            return new SourceSpan(startIndex, endIndex - startIndex,
                (int)Math.Max(0, start.Line - 1), (int)Math.Max(0, start.Column - 1),
                (int)Math.Max(0, end.Line - 1), (int)Math.Max(0, end.Column - 1));
        }
    }
}
