using System;
using System.Collections.Generic;
using System.Linq;

namespace TrainableTokens.Generators.Schema;

/// <summary>
/// Checks what needs every schema at once: each $ref names a schema that exists, no two files make the same class,
/// $refs form no cycle, and an optional section's schema can be made from defaults alone.
/// </summary>
internal static class SchemaSet
{
    /// <summary>The schemas that can be emitted, by class name, and a diagnostic for each that cannot.</summary>
    public static (IReadOnlyDictionary<string, ConfigSchema> Usable, IReadOnlyList<SchemaDiagnostic> Diagnostics) Resolve(IEnumerable<ConfigSchema> schemas)
    {
        var diagnostics = new List<SchemaDiagnostic>();
        var byName = new Dictionary<string, ConfigSchema>(StringComparer.Ordinal);
        foreach (var schema in schemas.OrderBy(s => s.FilePath, StringComparer.Ordinal))
        {
            if (byName.TryGetValue(schema.ClassName, out var first))
            {
                diagnostics.Add(new SchemaDiagnostic(SchemaDiagnosticIds.InvalidFileName,
                    $"Another schema ({first.FilePath}) already makes the class '{schema.ClassName}'. Rename one of the files.", schema.FilePath, schema.Span));
                continue;
            }
            byName.Add(schema.ClassName, schema);
        }

        var usable = new Dictionary<string, ConfigSchema>(byName, StringComparer.Ordinal);
        foreach (var schema in byName.Values)
        {
            foreach (var property in schema.Properties.Where(p => p.Value.Type == SchemaType.Section))
            {
                var target = property.Value.Section!;
                if (!byName.TryGetValue(target, out var referenced))
                {
                    var suggestion = TrainableTokens.Generators.Shared.KeySuggestion.Closest(target, byName.Keys);
                    Fail(schema, property, $"'{property.Name}' refers to {target}{SchemaParser.FileSuffix}, which is not among the schema files (AdditionalFiles)."
                        + (suggestion is null ? "" : $" Did you mean {suggestion}{SchemaParser.FileSuffix}?"));
                }
                else if (!property.Required && !property.Value.Nullable && referenced.Properties.Any(p => p.Required))
                {
                    Fail(schema, property, $"'{property.Name}' is optional, but {target} has required properties, so it cannot be made from defaults. List '{property.Name}' under 'required', or give it default: null.");
                }
                else if (Reaches(byName, target, schema.ClassName, new HashSet<string>(StringComparer.Ordinal)))
                {
                    Fail(schema, property, $"'{property.Name}' makes a cycle of $refs back to {schema.ClassName}; sections must nest without cycles.");
                }
            }
        }

        // A schema that refers to one that cannot be emitted cannot be emitted either.
        bool removed;
        do
        {
            removed = false;
            foreach (var schema in usable.Values.ToList())
            {
                if (schema.Properties.Any(p => p.Value.Type == SchemaType.Section && !usable.ContainsKey(p.Value.Section!)))
                {
                    usable.Remove(schema.ClassName);
                    removed = true;
                }
            }
        }
        while (removed);
        return (usable, diagnostics);

        void Fail(ConfigSchema schema, SchemaProperty property, string message)
        {
            diagnostics.Add(new SchemaDiagnostic(SchemaDiagnosticIds.InvalidReference, message, schema.FilePath, property.Span));
            usable.Remove(schema.ClassName);
        }
    }

    private static bool Reaches(Dictionary<string, ConfigSchema> byName, string from, string target, HashSet<string> seen)
    {
        if (from == target) return true;
        if (!seen.Add(from) || !byName.TryGetValue(from, out var schema)) return false;
        return schema.Properties.Any(p => p.Value.Type == SchemaType.Section && Reaches(byName, p.Value.Section!, target, seen));
    }
}
