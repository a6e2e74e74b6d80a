using System;
using System.Collections.Generic;
using System.Text.Json;

namespace TrainableTokens.Core.Configuration;

/// <summary>
/// The entry points generated <c>FromYaml</c>/<c>FromJson</c> methods call: parse the text into a node tree, then let
/// the generated reader map it onto the class. Problems never throw here; they wait in the object for <c>Validate()</c>.
/// </summary>
internal static class ConfigDocument
{
    /// <summary>The dictionary a config holds when nothing unknown was kept.</summary>
    public static readonly IReadOnlyDictionary<string, JsonElement> NoExtensionData = new Dictionary<string, JsonElement>();

    /// <summary>A user's YAML file: unknown keys are errors with a suggestion.</summary>
    public static T ReadYaml<T>(string yaml, string? sourceName, Func<ConfigReader, ConfigNode?, string, T> read)
    {
        var state = new ConfigReadState(sourceName, keepUnknownKeys: false);
        var root = YamlConfigParser.Parse(yaml ?? throw new ArgumentNullException(nameof(yaml)), state);
        return Finish(state, root, read, "The file is empty. Write the settings as 'key: value' lines.");
    }

    /// <summary>JSON such as PEFT's adapter_config.json: unknown keys are kept, so newer files survive a round trip.</summary>
    public static T ReadJson<T>(string json, string? sourceName, Func<ConfigReader, ConfigNode?, string, T> read)
    {
        var state = new ConfigReadState(sourceName, keepUnknownKeys: true);
        var root = JsonConfigParser.Parse(json ?? throw new ArgumentNullException(nameof(json)), state);
        return Finish(state, root, read, "The file is empty. Write the settings as one JSON object: {\"key\": value, ...}.");
    }

    private static T Finish<T>(ConfigReadState state, ConfigNode? root, Func<ConfigReader, ConfigNode?, string, T> read, string empty)
    {
        if (root is not null && root.IsNull) root = null;
        if (root is null && state.Findings.Count == 0)
            state.Error("", 1, 1, empty);
        return read(new ConfigReader(state), root, "");
    }
}
