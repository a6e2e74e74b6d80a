using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace TrainableTokens.Core.Tuners.Lora;

/// <summary>
/// A module set as PEFT writes target_modules / exclude_modules: a list of names (a module matches when its path equals
/// a name or ends with "." + name), a regular expression that must match the whole path, or PEFT's "all-linear".
/// </summary>
public sealed class LoraTargets
{
    public const string AllLinearText = "all-linear";

    private LoraTargets(IReadOnlyList<string>? names, string? pattern, bool allLinear)
    {
        Names = names;
        Pattern = pattern;
        IsAllLinear = allLinear;
    }

    public IReadOnlyList<string>? Names { get; }
    public string? Pattern { get; }
    /// <summary>Every linear projection except the output layer (the LM head, which is not a projection here).</summary>
    public bool IsAllLinear { get; }
    public bool IsList => Names is not null;

    public static LoraTargets List(IReadOnlyList<string> names) => new(names.ToList(), null, false);

    /// <summary>A string: "all-linear" in any case (PEFT lower-cases it), otherwise a regex.</summary>
    public static LoraTargets FromString(string text) =>
        string.Equals(text, AllLinearText, StringComparison.OrdinalIgnoreCase) ? new(null, text, true) : new(null, text, false);

    /// <summary>Whether the list or pattern names <paramref name="path"/>; all-linear matches every projection path.</summary>
    public bool Matches(string path)
    {
        if (IsAllLinear) return true;
        return ModuleMatch.Matches(Names, Pattern, path);
    }

    /// <summary>Python's re.fullmatch (<see cref="ModuleMatch.FullMatch"/>).</summary>
    internal static bool FullMatch(string pattern, string text) => ModuleMatch.FullMatch(pattern, text);

    public override string ToString() => Names is not null ? "[" + string.Join(", ", Names) + "]" : Pattern!;
}
