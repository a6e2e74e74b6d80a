using System.Text.RegularExpressions;

// Compiled into the engine and, linked, into the source generator, under a namespace of each one's own.
#if TRAINABLETOKENS_GENERATOR
namespace TrainableTokens.Generators.Shared;
#else
namespace TrainableTokens.Core.Configuration;
#endif

/// <summary>What an unquoted YAML scalar means under YAML 1.2's core schema.</summary>
internal enum ScalarKind
{
    Null,
    Boolean,
    Integer,
    Float,
    String,
}

/// <summary>
/// Resolves unquoted YAML scalars the way YAML 1.2's core schema does (so <c>yes</c> stays a string and <c>1e-3</c> is
/// a number), which is also what editors using the JSON Schema assume. The source generator compiles this same file,
/// so schemas and users' files agree on what a number is. Keep it netstandard2.0-compatible.
/// </summary>
internal static class YamlPlainScalar
{
    private static readonly Regex Null = new("^(~|null|Null|NULL|)$", RegexOptions.CultureInvariant);
    private static readonly Regex Boolean = new("^(true|True|TRUE|false|False|FALSE)$", RegexOptions.CultureInvariant);
    private static readonly Regex Integer = new("^([-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", RegexOptions.CultureInvariant);
    private static readonly Regex Float = new(
        @"^([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$", RegexOptions.CultureInvariant);

    public static ScalarKind Resolve(string text)
    {
        if (Null.IsMatch(text)) return ScalarKind.Null;
        if (Boolean.IsMatch(text)) return ScalarKind.Boolean;
        if (Integer.IsMatch(text)) return ScalarKind.Integer;
        if (Float.IsMatch(text)) return ScalarKind.Float;
        return ScalarKind.String;
    }

    /// <summary>True for true/True/TRUE; call only on a scalar that resolved to <see cref="ScalarKind.Boolean"/>.</summary>
    public static bool IsTrue(string text) => text.Length == 4;

    /// <summary>The value of an integer scalar (decimal, 0o octal or 0x hex); false when it does not fit a long.</summary>
    public static bool TryParseInteger(string text, out long value)
    {
        value = 0;
        if (text.StartsWith("0x", System.StringComparison.Ordinal))
            return long.TryParse(text.Substring(2), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out value) && value >= 0;
        if (text.StartsWith("0o", System.StringComparison.Ordinal))
        {
            foreach (var c in text.Substring(2))
            {
                if (value > (long.MaxValue >> 3)) return false;
                value = value * 8 + (c - '0');
            }
            return true;
        }
        return long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out value);
    }

    /// <summary>The value of an integer or float scalar, .inf and .nan included.</summary>
    public static bool TryParseNumber(string text, out double value)
    {
        if (TryParseInteger(text, out var whole))
        {
            value = whole;
            return true;
        }
        switch (text.TrimStart('+'))
        {
            case ".inf": case ".Inf": case ".INF": value = double.PositiveInfinity; return true;
            case "-.inf": case "-.Inf": case "-.INF": value = double.NegativeInfinity; return true;
            case ".nan": case ".NaN": case ".NAN": value = double.NaN; return true;
        }
        return double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out value);
    }
}
