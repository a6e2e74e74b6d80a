using System;
using System.Collections.Generic;
using System.Linq;

namespace TrainableTokens.Core.Configuration;

/// <summary>
/// A setting that is either one string or a list of strings, kept as written because the two mean different
/// things (PEFT's <c>target_modules</c>: a string is a regular expression, a list holds names matched as suffixes).
/// </summary>
public sealed class StringOrList : IEquatable<StringOrList>
{
    private StringOrList(string? text, IReadOnlyList<string>? items)
    {
        Text = text;
        Items = items;
    }

    /// <summary>The string, when the value is one; otherwise null.</summary>
    public string? Text { get; }

    /// <summary>The list, when the value is one; otherwise null.</summary>
    public IReadOnlyList<string>? Items { get; }

    public bool IsList => Items is not null;

    public static StringOrList FromString(string text) => new(text ?? throw new ArgumentNullException(nameof(text)), null);

    public static StringOrList FromList(IEnumerable<string> items) => new(null, (items ?? throw new ArgumentNullException(nameof(items))).ToArray());

    public static implicit operator StringOrList(string text) => FromString(text);

    public static implicit operator StringOrList(string[] items) => FromList(items);

    public bool Equals(StringOrList? other) =>
        other is not null && Text == other.Text && (Items is null ? other.Items is null : other.Items is not null && Items.SequenceEqual(other.Items));

    public override bool Equals(object? obj) => Equals(obj as StringOrList);

    public override int GetHashCode() => Text?.GetHashCode(StringComparison.Ordinal) ?? Items!.Count;

    public override string ToString() => Items is null ? Text! : "[" + string.Join(", ", Items) + "]";
}
