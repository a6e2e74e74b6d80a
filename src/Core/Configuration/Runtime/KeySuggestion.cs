using System;
using System.Collections.Generic;

// Compiled into the engine and, linked, into the source generator, under a namespace of each one's own.
#if TRAINABLETOKENS_GENERATOR
namespace TrainableTokens.Generators.Shared;
#else
namespace TrainableTokens.Core.Configuration;
#endif

/// <summary>Finds the known name closest to a misspelled one, for "did you mean" in messages.</summary>
internal static class KeySuggestion
{
    /// <summary>The closest candidate within a few edits (transpositions count as one), or null when none is close.</summary>
    public static string? Closest(string typed, IEnumerable<string> candidates)
    {
        // Keys are short; a long one is no misspelling, and the distance table would grow with its square.
        if (typed.Length > 64) return null;
        string? best = null;
        var bestDistance = int.MaxValue;
        var allowed = Math.Max(2, typed.Length / 3);
        foreach (var candidate in candidates)
        {
            var distance = Distance(typed.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        return bestDistance <= allowed ? best : null;
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
