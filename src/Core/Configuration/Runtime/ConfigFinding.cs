using System.Globalization;

namespace TrainableTokens.Core.Configuration;

/// <summary>
/// One problem with a config: its severity, the field as written on disk (<c>training.learning_rate</c>,
/// <c>trainable_tokens.token_indices[1]</c>), where it is in the file when the config came from one (1-based), and a
/// message that says how to fix it.
/// </summary>
public sealed record ConfigFinding(ConfigSeverity Severity, string Field, int? Line, int? Column, string Message)
{
    /// <summary>The file (or other source) the config was read from; null for a config made in code.</summary>
    public string? Source { get; init; }

    /// <summary>"file:line:column: error: field: message", the shape compilers and editors link to.</summary>
    public override string ToString()
    {
        var where = Source ?? "";
        if (Line is { } line)
            where += Column is { } column ? string.Format(CultureInfo.InvariantCulture, ":{0}:{1}", line, column) : string.Format(CultureInfo.InvariantCulture, ":{0}", line);
        var severity = Severity == ConfigSeverity.Error ? "error" : "warning";
        var field = Field.Length == 0 ? "" : Field + ": ";
        return where.Length == 0 ? $"{severity}: {field}{Message}" : $"{where}: {severity}: {field}{Message}";
    }
}
