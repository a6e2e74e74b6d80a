using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using TrainableTokens.Generators.Schema;

namespace TrainableTokens.Generators;

/// <summary>One Roslyn descriptor per schema diagnostic id; the message is the parser's full sentence.</summary>
internal static class Descriptors
{
    private const string Category = "TrainableTokens.Schema";

    public static readonly DiagnosticDescriptor InvalidYaml =
        new(SchemaDiagnosticIds.InvalidYaml, "The schema file is not valid YAML", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NotAnObjectSchema =
        new(SchemaDiagnosticIds.NotAnObjectSchema, "The schema is not an object schema with properties", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnsupportedKeyword =
        new(SchemaDiagnosticIds.UnsupportedKeyword, "A keyword outside the supported JSON Schema subset", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnsupportedType =
        new(SchemaDiagnosticIds.UnsupportedType, "A type the generator cannot map to C#", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidPropertyName =
        new(SchemaDiagnosticIds.InvalidPropertyName, "A property name that is not snake_case", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidDefault =
        new(SchemaDiagnosticIds.InvalidDefault, "A default that does not fit its property", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnknownRequired =
        new(SchemaDiagnosticIds.UnknownRequired, "'required' names a property that does not exist", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnsupportedOneOf =
        new(SchemaDiagnosticIds.UnsupportedOneOf, "A oneOf other than \"a list of strings or a string\"", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidPattern =
        new(SchemaDiagnosticIds.InvalidPattern, "A pattern that is not a valid regular expression", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidReference =
        new(SchemaDiagnosticIds.InvalidReference, "A $ref to a schema that does not exist, or a cycle of $refs", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidFileName =
        new(SchemaDiagnosticIds.InvalidFileName, "A schema file name that does not make a class name", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidEnum =
        new(SchemaDiagnosticIds.InvalidEnum, "An enum that is empty, repeats a value or is not made of strings", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidKeywordValue =
        new(SchemaDiagnosticIds.InvalidKeywordValue, "A keyword whose value has the wrong kind, or that does not apply to the type", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor MissingDefault =
        new(SchemaDiagnosticIds.MissingDefault, "An optional, non-nullable property without a default", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NameCollision =
        new(SchemaDiagnosticIds.NameCollision, "A property whose C# name collides with a generated member", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    private static readonly Dictionary<string, DiagnosticDescriptor> ById = new()
    {
        [SchemaDiagnosticIds.InvalidYaml] = InvalidYaml,
        [SchemaDiagnosticIds.NotAnObjectSchema] = NotAnObjectSchema,
        [SchemaDiagnosticIds.UnsupportedKeyword] = UnsupportedKeyword,
        [SchemaDiagnosticIds.UnsupportedType] = UnsupportedType,
        [SchemaDiagnosticIds.InvalidPropertyName] = InvalidPropertyName,
        [SchemaDiagnosticIds.InvalidDefault] = InvalidDefault,
        [SchemaDiagnosticIds.UnknownRequired] = UnknownRequired,
        [SchemaDiagnosticIds.UnsupportedOneOf] = UnsupportedOneOf,
        [SchemaDiagnosticIds.InvalidPattern] = InvalidPattern,
        [SchemaDiagnosticIds.InvalidReference] = InvalidReference,
        [SchemaDiagnosticIds.InvalidFileName] = InvalidFileName,
        [SchemaDiagnosticIds.InvalidEnum] = InvalidEnum,
        [SchemaDiagnosticIds.InvalidKeywordValue] = InvalidKeywordValue,
        [SchemaDiagnosticIds.MissingDefault] = MissingDefault,
        [SchemaDiagnosticIds.NameCollision] = NameCollision,
    };

    public static DiagnosticDescriptor For(string id) => ById[id];
}
