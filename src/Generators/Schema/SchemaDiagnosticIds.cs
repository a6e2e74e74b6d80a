namespace TrainableTokens.Generators.Schema;

/// <summary>The generator's diagnostic ids; AnalyzerReleases.Unshipped.md lists them with their titles.</summary>
internal static class SchemaDiagnosticIds
{
    public const string InvalidYaml = "TTG001";
    public const string NotAnObjectSchema = "TTG002";
    public const string UnsupportedKeyword = "TTG003";
    public const string UnsupportedType = "TTG004";
    public const string InvalidPropertyName = "TTG005";
    public const string InvalidDefault = "TTG006";
    public const string UnknownRequired = "TTG007";
    public const string UnsupportedOneOf = "TTG008";
    public const string InvalidPattern = "TTG009";
    public const string InvalidReference = "TTG010";
    public const string InvalidFileName = "TTG011";
    public const string InvalidEnum = "TTG012";
    public const string InvalidKeywordValue = "TTG013";
    public const string MissingDefault = "TTG014";
    public const string NameCollision = "TTG015";
}
