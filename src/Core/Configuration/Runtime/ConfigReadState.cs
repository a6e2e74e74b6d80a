using System.Collections.Generic;

namespace TrainableTokens.Core.Configuration;

/// <summary>
/// What reading one file found, shared by the config read from it and every section inside: the problems that
/// reading met (unknown keys, wrong types, bad syntax) and which fields they left at their defaults, so that
/// <c>Validate()</c> reports them with the value checks and does not also complain about the defaults.
/// </summary>
internal sealed class ConfigReadState
{
    private readonly HashSet<string> _failedFields = new(System.StringComparer.Ordinal);
    private readonly HashSet<string> _suggestedFields = new(System.StringComparer.Ordinal);

    public ConfigReadState(string? sourceName, bool keepUnknownKeys)
    {
        SourceName = sourceName;
        KeepUnknownKeys = keepUnknownKeys;
    }

    public string? SourceName { get; }

    /// <summary>True for PEFT's JSON, whose newer versions add keys that must survive a round trip; false for users' YAML.</summary>
    public bool KeepUnknownKeys { get; }

    /// <summary>What reading found, at most <see cref="ConfigLimits.MaxFindings"/>; <see cref="Omitted"/> counts the rest.</summary>
    public List<ConfigFinding> Findings { get; } = new();

    /// <summary>Findings left out of <see cref="Findings"/> because it was full (a file with a million bad values, say).</summary>
    public int Omitted { get; private set; }

    public void Error(string field, int? line, int? column, string message)
    {
        if (field.Length > 0) _failedFields.Add(field);
        if (Findings.Count >= ConfigLimits.MaxFindings)
        {
            Omitted++;
            return;
        }
        Findings.Add(new ConfigFinding(ConfigSeverity.Error, field, line, column, message) { Source = SourceName });
    }

    public void Error(string field, ConfigNode? at, string message) => Error(field, at?.Line, at?.Column, message);

    /// <summary>Marks <paramref name="field"/> as left at its default because reading it failed (findings say why).</summary>
    public void MarkFailed(string field) => _failedFields.Add(field);

    /// <summary>Remembers that an unknown key was answered with "did you mean <paramref name="field"/>".</summary>
    public void Suggested(string field) => _suggestedFields.Add(field);

    /// <summary>True when a misspelled key already pointed the user at <paramref name="field"/>.</summary>
    public bool WasSuggested(string field) => _suggestedFields.Contains(field);

    /// <summary>True when reading <paramref name="field"/> failed, so its value is a stand-in default.</summary>
    public bool Failed(string field) => _failedFields.Contains(field);
}
