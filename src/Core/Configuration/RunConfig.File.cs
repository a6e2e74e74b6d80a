using System.Collections.Generic;
using System.IO;
using System.Text;

namespace TrainableTokens.Core.Configuration;

/// <summary>The run file on disk: writing it with the line that lets editors check it (reading: RunConfig.Load.cs).</summary>
public sealed partial record RunConfig
{
    /// <summary>The JSON Schema file that describes run files, as the build writes it into the module's schemas folder.</summary>
    public const string JsonSchemaFileName = "RunConfig.schema.json";

    /// <summary>
    /// The run file's text. With <paramref name="schemaLocation"/> (a path or URL of RunConfig.schema.json) it starts with
    /// the yaml-language-server line, so editors validate and complete the file.
    /// </summary>
    public string ToRunFile(string? schemaLocation = null)
    {
        var comments = new List<string>();
        if (schemaLocation is not null) comments.Add("yaml-language-server: $schema=" + schemaLocation);
        comments.Add("TrainableTokens run file: Test-TrainableTokensConfig checks it; every setting is described in the schema.");
        return ToYaml(comments);
    }

    /// <summary>Writes <see cref="ToRunFile"/> to <paramref name="path"/> atomically (readers see the old file or the new one).</summary>
    public void Save(string path, string? schemaLocation = null)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        AtomicFile.WriteAllBytes(full, new UTF8Encoding(false).GetBytes(ToRunFile(schemaLocation)));
    }
}
