using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;

namespace TrainableTokens.Core.Configuration;

/// <summary>
/// Collects the findings of a generated <c>Validate()</c>: one method per schema keyword, each adding a finding with
/// the field's path, its position in the file when the config came from one, and a message that says how to fix it.
/// Fields whose reading already failed are skipped: they hold stand-in defaults and were reported then.
/// </summary>
internal sealed class ConfigValidator
{
    private readonly FindingSet _findings;
    private readonly ConfigOrigin? _origin;
    private readonly string _path;

    private ConfigValidator(FindingSet findings, ConfigOrigin? origin, string path)
    {
        _findings = findings;
        _origin = origin;
        _path = path;
    }

    /// <summary>A validator for a config object; it starts with what reading found inside that object.</summary>
    public static ConfigValidator For(ConfigOrigin? origin)
    {
        var path = origin?.Path ?? "";
        var findings = new FindingSet();
        if (origin is not null)
        {
            findings.Items.AddRange(origin.State.Findings.Where(f => path.Length == 0 || f.Field == path || f.Field.StartsWith(path + ".", System.StringComparison.Ordinal)));
            // What reading left out cannot be placed in a section; the whole file's validator counts it.
            if (path.Length == 0) findings.OmittedErrors = origin.State.Omitted;
        }
        return new ConfigValidator(findings, origin, path);
    }

    /// <summary>
    /// An empty validator that places findings on <paramref name="origin"/>'s values, for checks beyond the schema (the
    /// preflight against a model); <paramref name="path"/> names the object when it was made in code.
    /// </summary>
    public static ConfigValidator At(ConfigOrigin? origin, string path) => new(new FindingSet(), origin, origin?.Path ?? path);

    /// <summary>A validator for the section <paramref name="key"/> below this one, adding to the same findings.</summary>
    public ConfigValidator Section(string key, ConfigOrigin? origin) => new(_findings, origin, ConfigPath.Join(_path, key));

    /// <summary>
    /// Every finding, those with a position in file order: at most <see cref="ConfigLimits.MaxFindings"/>, then one
    /// that counts the rest, so a file with a million bad values gives a short answer.
    /// </summary>
    public IReadOnlyList<ConfigFinding> Findings
    {
        get
        {
            var ordered = _findings.Items.Select((f, i) => (f, i)).OrderBy(x => x.f.Line ?? int.MaxValue).ThenBy(x => x.f.Column ?? 0).ThenBy(x => x.i).Select(x => x.f).ToList();
            var omitted = _findings.OmittedErrors + _findings.OmittedWarnings;
            if (omitted > 0)
                ordered.Add(new ConfigFinding(_findings.OmittedErrors > 0 ? ConfigSeverity.Error : ConfigSeverity.Warning, "", null, null,
                    $"{omitted.ToString("N0", CultureInfo.InvariantCulture)} more {(omitted == 1 ? "problem is" : "problems are")} not listed. Fix the ones above, then check again.")
                {
                    Source = _origin?.State.SourceName,
                });
            return ordered;
        }
    }

    public bool HasErrors => _findings.OmittedErrors > 0 || _findings.Items.Any(f => f.Severity == ConfigSeverity.Error);

    /// <summary>The full path of <paramref name="key"/> (and item) as findings name it.</summary>
    public string Field(string key, int? item = null)
    {
        var field = key.Length == 0 ? _path : ConfigPath.Join(_path, key);
        return item is { } i ? ConfigPath.Item(field, i) : field;
    }

    /// <summary>True when reading <paramref name="key"/> (or that item) failed, so its value is not worth checking.</summary>
    public bool ReadFailed(string key, int? item = null) =>
        _origin is { } o && (o.Node is not { Shape: ConfigNodeShape.Mapping } // the whole object failed to read: said so already
            || o.State.Failed(Field(key)) || (item is not null && o.State.Failed(Field(key, item))));

    /// <summary>Whether reading already suggested <paramref name="key"/> for a misspelt one ("did you mean"): one mistake, one finding.</summary>
    public bool WasSuggested(string key) => _origin is { } o && o.State.WasSuggested(Field(key));

    public void Error(string key, string message, int? item = null) => Add(ConfigSeverity.Error, key, item, message);

    public void Warning(string key, string message, int? item = null) => Add(ConfigSeverity.Warning, key, item, message);

    public void NotNull(string key, object? value, string expected)
    {
        if (value is null && !ReadFailed(key) && !Omit()) Error(key, $"'{Field(key)}' must be {expected}; it is null.");
    }

    public void Minimum(string key, double? value, double minimum, int? item = null, string? hint = null)
    {
        if (value is { } v && v < minimum && !ReadFailed(key, item) && !Omit())
            Error(key, $"'{Field(key, item)}' is {Number(v)}; it must be {Number(minimum)} or more.{Hint(hint)}", item);
    }

    public void Maximum(string key, double? value, double maximum, int? item = null, string? hint = null)
    {
        if (value is { } v && v > maximum && !ReadFailed(key, item) && !Omit())
            Error(key, $"'{Field(key, item)}' is {Number(v)}; it must be {Number(maximum)} or less.{Hint(hint)}", item);
    }

    public void ExclusiveMinimum(string key, double? value, double minimum, int? item = null, string? hint = null)
    {
        if (value is { } v && v <= minimum && !ReadFailed(key, item) && !Omit())
            Error(key, $"'{Field(key, item)}' is {Number(v)}; it must be greater than {Number(minimum)}.{Hint(hint)}", item);
    }

    public void ExclusiveMaximum(string key, double? value, double maximum, int? item = null, string? hint = null)
    {
        if (value is { } v && v >= maximum && !ReadFailed(key, item) && !Omit())
            Error(key, $"'{Field(key, item)}' is {Number(v)}; it must be less than {Number(maximum)}.{Hint(hint)}", item);
    }

    public void MinItems<T>(string key, IReadOnlyList<T>? list, int minimum, string? hint = null)
    {
        if (list is null || list.Count >= minimum || ReadFailed(key)) return;
        var what = list.Count == 0 ? "is empty" : $"lists {list.Count} {(list.Count == 1 ? "value" : "values")}";
        Error(key, $"'{Field(key)}' {what}; list at least {minimum}.{Hint(hint)}");
    }

    public void MaxItems<T>(string key, IReadOnlyList<T>? list, int maximum, string? hint = null)
    {
        if (list is null || list.Count <= maximum || ReadFailed(key)) return;
        Error(key, $"'{Field(key)}' lists {list.Count} values; list at most {maximum}.{Hint(hint)}");
    }

    public void UniqueItems<T>(string key, IReadOnlyList<T>? list)
        where T : notnull
    {
        if (list is null || ReadFailed(key)) return;
        var first = new Dictionary<T, int>();
        var repeats = 0;
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] is not { } value) continue;
            if (!first.TryGetValue(value, out var earlier))
            {
                first.Add(value, i);
                continue;
            }
            // The first few repeats one by one; a list of a hundred thousand copies gets one more line, not a hundred thousand.
            if (++repeats <= ConfigLimits.MaxFindingsPerList)
                Error(key, $"'{Field(key)}' lists {Show(value)} twice (items {earlier} and {i}); list each value once.", i);
        }
        if (repeats > ConfigLimits.MaxFindingsPerList)
        {
            var more = repeats - ConfigLimits.MaxFindingsPerList;
            Error(key, $"'{Field(key)}' repeats a value {more.ToString("N0", CultureInfo.InvariantCulture)} more {(more == 1 ? "time" : "times")} after these; list each value once.");
        }
    }

    public void OneOf(string key, string? value, IReadOnlyList<string> allowed, int? item = null, string? hint = null)
    {
        if (value is null || allowed.Contains(value) || ReadFailed(key, item) || Omit()) return;
        var suggestion = KeySuggestion.Closest(value, allowed);
        var fix = suggestion is null ? $"Use one of: {string.Join(", ", allowed)}." : $"Did you mean '{suggestion}'? Allowed: {string.Join(", ", allowed)}.";
        Error(key, $"'{Field(key, item)}' is '{ConfigLimits.Quote(value)}', which is not allowed. {fix}{Hint(hint)}", item);
    }

    public void Matches(string key, string? value, Regex pattern, int? item = null, string? hint = null)
    {
        if (value is null || pattern.IsMatch(value) || ReadFailed(key, item) || Omit()) return;
        var fix = hint is null ? $" It must match the pattern {pattern}." : " " + hint;
        Error(key, $"'{Field(key, item)}' is '{ConfigLimits.Quote(value)}', which is not valid.{fix}", item);
    }

    /// <summary>
    /// True (and counted) when the list is full and the next finding would be left out anyway: checks ask before they
    /// build a message, so a million bad values cost a counter, not a million strings.
    /// </summary>
    private bool Omit(ConfigSeverity severity = ConfigSeverity.Error)
    {
        if (_findings.Items.Count < ConfigLimits.MaxFindings) return false;
        if (severity == ConfigSeverity.Error) _findings.OmittedErrors++;
        else _findings.OmittedWarnings++;
        return true;
    }

    private void Add(ConfigSeverity severity, string key, int? item, string message)
    {
        if (Omit(severity)) return;
        var (line, column) = Position(key, item);
        _findings.Items.Add(new ConfigFinding(severity, Field(key, item), line, column, message) { Source = _origin?.State.SourceName });
    }

    /// <summary>Where the value is written; for a value left out, where its section is.</summary>
    private (int? Line, int? Column) Position(string key, int? item)
    {
        var node = _origin?.Node;
        if (node is null) return (null, null);
        var value = key.Length == 0 ? node : node.Shape == ConfigNodeShape.Mapping ? node.Entry(key)?.Value : null;
        if (value is not null && item is { } i && i < value.Items.Count) value = value.Items[i];
        var at = value ?? node;
        return (at.Line, at.Column);
    }

    /// <summary>The findings of one validation, shared by the validators of its sections, and how many were left out.</summary>
    private sealed class FindingSet
    {
        public List<ConfigFinding> Items { get; } = new();
        public int OmittedErrors { get; set; }
        public int OmittedWarnings { get; set; }
    }

    private static string Hint(string? hint) => hint is null ? "" : " " + hint;

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Show(object value) => value switch
    {
        string s => $"'{ConfigLimits.Quote(s)}'",
        double d => Number(d),
        System.IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
