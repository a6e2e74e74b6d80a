using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace TrainableTokens.Core.Configuration;

/// <summary>Value equality for the member types of generated configs: lists by their items, JSON by its content.</summary>
internal static class ConfigEquality
{
    public static bool Lists<T>(IReadOnlyList<T>? a, IReadOnlyList<T>? b) =>
        ReferenceEquals(a, b) || (a is not null && b is not null && a.SequenceEqual(b));

    public static bool Json(JsonElement? a, JsonElement? b) =>
        a is null ? b is null : b is not null && ConfigJsonWriter.Canonical(a.Value) == ConfigJsonWriter.Canonical(b.Value);

    public static bool ExtensionData(IReadOnlyDictionary<string, JsonElement> a, IReadOnlyDictionary<string, JsonElement> b) =>
        a.Count == b.Count && a.All(pair => b.TryGetValue(pair.Key, out var other) && Json(pair.Value, other));

    /// <summary>A cheap hash for lists: their length (equal lists have equal lengths).</summary>
    public static int Hash<T>(IReadOnlyList<T>? list) => list?.Count ?? -1;
}
