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

    /// <summary>PEFT's rule, shared by every tuner (<see cref="ModuleMatch"/>).</summary>
    public bool Matches(string modulePath) => ModuleMatch.Matches(NameList, Pattern, modulePath);

    public JsonNode ToJson() => NameList is not null
        ? new JsonArray(NameList.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray())
        : JsonValue.Create(Pattern!);

    public override string ToString() => NameList is not null ? "[" + string.Join(", ", NameList) + "]" : Pattern!;
}
