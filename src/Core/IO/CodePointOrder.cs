using System;
using System.Collections.Generic;

namespace TrainableTokens.Core.IO;

/// <summary>
/// Orders strings by Unicode code point, which is also UTF-8 byte order: how Rust sorts tensor names and Python sorts
/// JSON keys. Ordinal UTF-16 order differs from it only when surrogate pairs meet characters U+E000..U+FFFF.
/// </summary>
internal sealed class CodePointOrder : IComparer<string>
{
    public static CodePointOrder Instance { get; } = new();

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        var a = x.EnumerateRunes();
        var b = y.EnumerateRunes();
        while (true)
        {
            var hasA = a.MoveNext();
            var hasB = b.MoveNext();
            if (!hasA || !hasB) return hasA.CompareTo(hasB);
            var order = a.Current.Value.CompareTo(b.Current.Value);
            if (order != 0) return order;
        }
    }
}
