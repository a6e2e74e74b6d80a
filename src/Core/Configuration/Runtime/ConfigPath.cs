using System.Globalization;

namespace TrainableTokens.Core.Configuration;

/// <summary>Field paths as users see them in findings: <c>training.learning_rate</c>, <c>trainable_tokens.token_indices[1]</c>.</summary>
internal static class ConfigPath
{
    public static string Join(string parent, string key) => parent.Length == 0 ? key : parent + "." + key;

    public static string Item(string list, int index) => list + "[" + index.ToString(CultureInfo.InvariantCulture) + "]";
}
