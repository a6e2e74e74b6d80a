using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;

namespace TrainableTokens.Core.Tuners.TrainableTokens;

/// <summary>
/// Which modules an adapter wraps, with PEFT's matching rules: a list of names matches a module whose path equals a
/// name or ends with "." + name; a string is a regular expression that must match the whole path.
/// </summary>
public sealed class TargetModules
{
    private TargetModules(IReadOnlyList<string>? names, string? pattern)
    {
        NameList = names;
        Pattern = pattern;
    }

    public IReadOnlyList<string>? NameList { get; }
    public string? Pattern { get; }

    public static TargetModules Names(IReadOnlyList<string> names) => new(names, null);

    public static TargetModules Regex(string pattern) => new(null, pattern);

    public bool Matches(string modulePath)
    {
        if (NameList is not null)
            return NameList.Any(n => modulePath == n || modulePath.EndsWith("." + n, StringComparison.Ordinal));
        return System.Text.RegularExpressions.Regex.IsMatch(modulePath, $"^(?:{Pattern})$", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1));
    }

    public JsonNode ToJson() => NameList is not null
        ? new JsonArray(NameList.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray())
        : JsonValue.Create(Pattern!);

    public override string ToString() => NameList is not null ? "[" + string.Join(", ", NameList) + "]" : Pattern!;
}
