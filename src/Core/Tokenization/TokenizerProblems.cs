using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// Collects what is wrong with a tokenizer file, so one error names the first few problems (each with its field) and
/// a count of the rest, instead of stopping at the first or listing a hundred thousand duplicate ids.
/// </summary>
internal sealed class TokenizerProblems
{
    /// <summary>How many problems the message spells out.</summary>
    public const int Shown = 3;

    private readonly List<string> _first = new();
    private readonly string _path;

    public TokenizerProblems(string path) => _path = path;

    public int Count { get; private set; }

    public void Add(string problem)
    {
        if (_first.Count < Shown) _first.Add(problem);
        Count++;
    }

    /// <summary>Throws <see cref="InvalidTokenizerException"/> naming the problems found so far, if any.</summary>
    public void ThrowIfAny(string fix)
    {
        if (Count == 0) return;
        var more = Count > Shown ? $" (and {Count - Shown} more problem{(Count - Shown == 1 ? "" : "s")})" : "";
        throw new InvalidTokenizerException($"'{_path}' cannot be used: {string.Join("; ", _first)}{more}. {fix}", _path);
    }

    /// <summary>A user's string for a message: quoted, control characters escaped, cut to a readable length.</summary>
    public static string Quote(string? text, int max = 40)
    {
        if (text is null) return "null";
        var builder = new StringBuilder("\"");
        foreach (var c in text.Length > max ? text[..max] : text)
        {
            if (c == '"' || c == '\\') builder.Append('\\').Append(c);
            else if (char.IsControl(c) || char.IsSurrogate(c)) builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            else builder.Append(c);
        }
        builder.Append('"');
        if (text.Length > max) builder.Append($"... ({text.Length} characters)");
        return builder.ToString();
    }

    /// <summary>A JSON value's text for a message, cut short.</summary>
    public static string Raw(string json, int max = 60)
    {
        var flat = json.ReplaceLineEndings(" ");
        return flat.Length <= max ? flat : flat[..max] + "...";
    }
}
