namespace TrainableTokens.Generators.Schema;

/// <summary>The value types the schema language has, and what each becomes in C#.</summary>
internal enum SchemaType
{
    /// <summary>string</summary>
    String,
    /// <summary>int</summary>
    Integer,
    /// <summary>double</summary>
    Number,
    /// <summary>bool</summary>
    Boolean,
    /// <summary>IReadOnlyList of the item type</summary>
    Array,
    /// <summary>another schema's class, by $ref</summary>
    Section,
    /// <summary>oneOf [list of strings, string]: StringOrList</summary>
    StringOrList,
    /// <summary>type [object, "null"] without properties: a free-form value, kept as JsonElement. With several types
    /// (such as [array, object, "null"]) it is any value of those JSON types (<see cref="ValueSchema.Shapes"/>).</summary>
    Json,
}

/// <summary>Where something is in a schema file, for diagnostics (0-based lines and columns, as Roslyn counts).</summary>
internal sealed record SourceSpan(int Start, int Length, int StartLine, int StartColumn, int EndLine, int EndColumn);

/// <summary>What shape a schema value (a default or an example) has.</summary>
internal enum SchemaValueKind
{
    Null,
    Boolean,
    Integer,
    Float,
    String,
    Sequence,
    Mapping,
}

/// <summary>
/// A value from a schema (a default or an example): its kind, its JSON text (for the JSON Schema and for C#
/// literals), how a person writes it in YAML (for messages), and its items when it is a list.
/// </summary>
internal sealed record SchemaValue(SchemaValueKind Kind, string Json, string Yaml, EquatableArray<SchemaValue> Items)
{
    public bool IsNull => Kind == SchemaValueKind.Null;
}

/// <summary>The constraints on one value; arrays and "list or string" carry their items' constraints in <see cref="Items"/>.</summary>
internal sealed record ValueSchema(
    SchemaType Type,
    bool Nullable,
    ValueSchema? Items,
    string? Section,
    EquatableArray<string> Enum,
    double? Minimum,
    double? Maximum,
    double? ExclusiveMinimum,
    double? ExclusiveMaximum,
    int? MinItems,
    int? MaxItems,
    bool UniqueItems,
    string? Pattern)
{
    /// <summary>For <see cref="SchemaType.Json"/>: the JSON types a value may have besides null ("object" alone unless the schema lists more).</summary>
    public EquatableArray<string> Shapes { get; init; } = EquatableArray<string>.Empty;
}

/// <summary>One property of a config: its on-disk name, its C# name, its value schema and its documentation.</summary>
internal sealed record SchemaProperty(
    string Name,
    string PropertyName,
    ValueSchema Value,
    bool Required,
    SchemaValue? Default,
    string? Title,
    string? Description,
    bool ReadOnly,
    EquatableArray<SchemaValue> Examples,
    string? Hint,
    SourceSpan Span);

/// <summary>One schema file: the class it becomes and its properties in file order.</summary>
internal sealed record ConfigSchema(
    string FilePath,
    string FileName,
    string ClassName,
    string? Id,
    string? Title,
    string? Description,
    EquatableArray<SchemaProperty> Properties,
    SourceSpan Span);

/// <summary>What parsing one schema file gives: the schema (null when it is too broken to use) and every diagnostic.</summary>
internal sealed record ParsedSchema(string FilePath, ConfigSchema? Schema, EquatableArray<SchemaDiagnostic> Diagnostics);

/// <summary>A problem in a schema file; Roslyn-free, so the build's JSON Schema export reports it the same way.</summary>
internal sealed record SchemaDiagnostic(string Id, string Message, string FilePath, SourceSpan Span)
{
    /// <summary>"file(line,column): error TTG001: message", as compilers print it.</summary>
    public override string ToString() =>
        $"{FilePath}({Span.StartLine + 1},{Span.StartColumn + 1}): error {Id}: {Message}";
}
