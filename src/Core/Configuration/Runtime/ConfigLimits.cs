namespace TrainableTokens.Core.Configuration;

/// <summary>
/// Bounds on what reading one config file may build, so a hostile or broken file costs bounded memory, stack and
/// message length: the parsers stop with a finding when a file goes past one, instead of crashing the process.
/// </summary>
internal static class ConfigLimits
{
    /// <summary>Nested lists and mappings; every real config needs fewer than five.</summary>
    public const int MaxDepth = 64;

    /// <summary>Items in one list or mapping: twice the longest token_indices the schema allows.</summary>
    public const int MaxItems = 2 * 1_048_576;

    /// <summary>Values in one file, with YAML aliases counted as often as they are used.</summary>
    public const int MaxNodes = 4 * 1_048_576;

    /// <summary>Findings listed one by one; the rest are counted in one last finding.</summary>
    public const int MaxFindings = 50;

    /// <summary>Findings of one kind about one list (repeated values, say) before the rest are counted.</summary>
    public const int MaxFindingsPerList = 5;

    /// <summary>Characters of a user's value or key quoted in a message.</summary>
    public const int MaxQuotedChars = 60;

    /// <summary>The text for a message: at most <see cref="MaxQuotedChars"/> characters, cut with "...".</summary>
    public static string Quote(string text)
    {
        if (text.Length <= MaxQuotedChars) return text;
        var cut = MaxQuotedChars - 3;
        if (char.IsHighSurrogate(text[cut - 1])) cut--;
        return text.Substring(0, cut) + "...";
    }
}
