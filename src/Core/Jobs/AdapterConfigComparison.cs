using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrainableTokens.Core.Jobs;

/// <summary>One key on which the adapter's adapter_config.json differs from job.json's adapter_config: the JSON text
/// of each side, null where the key is absent.</summary>
public sealed record ConfigDifference(string Key, string? Expected, string? Actual)
{
    public override string ToString() => $"{Key}: expected {Expected ?? "(absent)"}, got {Actual ?? "(absent)"}";
}

/// <summary>
/// Compares the adapter_config.json a job's run wrote with the one job.json says it should write, key by key. peft_version
/// is ignored (PEFT writes its own); numbers compare by value (PEFT may write 8 where we wrote 8.0); target_modules and
/// exclude_modules compare as sets, since PEFT keeps them in a Python set and saves them in no fixed order; a key only one
/// side has is no difference when its value is PEFT's unset one (<see cref="PeftConfigDefaults"/>).
/// </summary>
public static class AdapterConfigComparison
{
    public const string IgnoredKey = "peft_version";
    /// <summary>Differences here are reported but allowed: train.py's --model moves the base model.</summary>
    public const string BaseModelKey = "base_model_name_or_path";
    private static readonly HashSet<string> SetValued = new(StringComparer.Ordinal) { "target_modules", "exclude_modules" };

    public static IReadOnlyList<ConfigDifference> Compare(JsonObject expected, JsonObject actual)
    {
        var keys = expected.Select(kv => kv.Key).Union(actual.Select(kv => kv.Key)).Where(k => k != IgnoredKey).OrderBy(k => k, StringComparer.Ordinal);
        var differences = new List<ConfigDifference>();
        foreach (var key in keys)
        {
            var hasExpected = expected.TryGetPropertyValue(key, out var e);
            var hasActual = actual.TryGetPropertyValue(key, out var a);
            if (hasExpected && hasActual && Same(e, a, SetValued.Contains(key))) continue;
            // A key one side leaves out at PEFT's unset value (PEFT writes keys for variants this module does not write).
            if (hasExpected != hasActual && PeftConfigDefaults.TryGet(key, out var unset) && Same(hasExpected ? e : a, unset, asSet: false)) continue;
            differences.Add(new ConfigDifference(key, hasExpected ? Text(e) : null, hasActual ? Text(a) : null));
        }
        return differences;
    }

    private static string Text(JsonNode? node) => node?.ToJsonString() ?? "null";

    private static double Number(JsonValue v) => double.Parse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);

    private static bool Same(JsonNode? a, JsonNode? b, bool asSet)
    {
        if (a is null || b is null) return a is null && b is null;
        switch (a, b)
        {
            case (JsonObject x, JsonObject y):
                return x.Count == y.Count && x.All(kv => y.TryGetPropertyValue(kv.Key, out var other) && Same(kv.Value, other, asSet: false));
            case (JsonArray x, JsonArray y):
                if (x.Count != y.Count) return false;
                if (!asSet) return x.Zip(y).All(p => Same(p.First, p.Second, asSet: false));
                var left = x.Select(Text).Order(StringComparer.Ordinal);
                var right = y.Select(Text).Order(StringComparer.Ordinal);
                return left.SequenceEqual(right);
            case (JsonValue x, JsonValue y):
                var (kx, ky) = (x.GetValueKind(), y.GetValueKind());
                if (kx != ky) return false;
                if (kx == JsonValueKind.Number) return Number(x) == Number(y);
                if (kx == JsonValueKind.String) return x.GetValue<string>() == y.GetValue<string>();
                return x.ToJsonString() == y.ToJsonString();
            default:
                return false;
        }
    }
}
