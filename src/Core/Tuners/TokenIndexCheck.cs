using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tuners;

/// <summary>
/// The one check of token ids every tuner and command shares: inside the vocabulary, listed once, disjoint between
/// adapters active together (PEFT's _check_overlapping_tokens), and finite trained rows.
/// </summary>
public static class TokenIndexCheck
{
    /// <summary>Whether <paramref name="id"/> is not a row of a vocabulary of <paramref name="vocabSize"/>.</summary>
    public static bool IsOutside(long id, long vocabSize) => id < 0 || id >= vocabSize;

    /// <summary>The distinct ids below 0 or at or past <paramref name="vocabSize"/>, in order of appearance.</summary>
    public static IReadOnlyList<long> Outside(IEnumerable<long> ids, long vocabSize) =>
        ids.Where(i => IsOutside(i, vocabSize)).Distinct().ToList();

    /// <summary>The ids listed more than once.</summary>
    public static IReadOnlyList<long> Repeated(IEnumerable<long> ids) =>
        ids.GroupBy(i => i).Where(g => g.Count() > 1).Select(g => g.Key).ToList();

    /// <summary>Throws <see cref="InvalidAdapterException"/> for adapter <paramref name="name"/> when the ids are empty,
    /// outside the vocabulary or repeated; <paramref name="field"/> names the config field in the message.</summary>
    public static void Ensure(IReadOnlyList<long> ids, long vocabSize, string name, string field = "token indices")
    {
        if (ids.Count == 0)
            throw new InvalidAdapterException($"Adapter '{name}' has no {field}; give at least one token id to train.", name);
        var outside = Outside(ids, vocabSize);
        if (outside.Count > 0)
            throw new InvalidAdapterException(
                $"Adapter '{name}': {field} {Few(outside, 10)} are outside the vocabulary (0 to {vocabSize - 1}). " +
                "Add the tokens to the tokenizer and resize the model first (Add-TokenizerToken), or fix the ids.", name);
        var repeated = Repeated(ids);
        if (repeated.Count > 0)
            throw new InvalidAdapterException($"Adapter '{name}': {field} {Few(repeated, 10)} are listed more than once; list each id once.", name);
    }

    /// <summary>Adapters used together must train different ids: the first overlap is an <see cref="AdapterConflictException"/>
    /// naming both adapters.</summary>
    public static void EnsureDisjoint(IEnumerable<(string Name, IEnumerable<long> Ids)> adapters)
    {
        var owners = new Dictionary<long, string>();
        foreach (var (name, ids) in adapters)
        {
            var list = ids.Distinct().ToList();
            var overlap = list.Where(owners.ContainsKey).ToList();
            if (overlap.Count > 0) throw new AdapterConflictException(name, owners[overlap[0]], overlap);
            foreach (var id in list) owners[id] = name;
        }
    }

    /// <summary>Whether every value of <paramref name="values"/> is finite.</summary>
    public static bool AllFinite(Tensor values)
    {
        using var scope = NewDisposeScope();
        return values.isfinite().all().item<bool>();
    }

    /// <summary>The first few items and a count of the rest.</summary>
    public static string Few<T>(IReadOnlyList<T> items, int shown = 5) =>
        string.Join(", ", items.Take(shown)) + (items.Count > shown ? $" and {items.Count - shown} more" : "");
}
