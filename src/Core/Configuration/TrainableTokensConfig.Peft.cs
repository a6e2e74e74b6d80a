using System.Linq;

namespace TrainableTokens.Core.Configuration;

/// <summary>PEFT's names for reading and writing <c>adapter_config.json</c> with the generated class.</summary>
public sealed partial record TrainableTokensConfig
{
    /// <summary>The file PEFT keeps an adapter's config in.</summary>
    public const string PeftFileName = "adapter_config.json";

    /// <summary>
    /// Reads an <c>adapter_config.json</c>. Keys this version does not know (added by newer PEFT releases) are kept in
    /// <see cref="ExtensionData"/> and written back by <see cref="ToPeftJson"/>. Throws <see cref="InvalidConfigException"/>
    /// listing every error when the file is not a valid Trainable Tokens config (another peft_type, say).
    /// </summary>
    /// <param name="json">The file's text.</param>
    /// <param name="sourceName">The file's path, for messages.</param>
    public static TrainableTokensConfig FromPeftJson(string json, string? sourceName = null)
    {
        var config = FromJson(json, sourceName);
        var findings = config.Validate();
        if (findings.Any(f => f.Severity == ConfigSeverity.Error)) throw new InvalidConfigException(findings, sourceName);
        return config;
    }

    /// <summary>The text of <c>adapter_config.json</c>, byte for byte as PEFT writes it (sorted keys, two-space indent).</summary>
    public string ToPeftJson() => ToJson();
}
