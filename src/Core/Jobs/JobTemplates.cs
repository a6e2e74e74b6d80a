using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.RegularExpressions;

namespace TrainableTokens.Core.Jobs;

/// <summary>
/// The job files kept as embedded resources (train.py, the accelerate and DeepSpeed configs), and their rendering:
/// each <c>{{name}}</c> is replaced by its value, and a placeholder left without one is an error, never a silent gap.
/// </summary>
internal static partial class JobTemplates
{
    public static string Read(string file)
    {
        var name = "TrainableTokens.Jobs." + file;
        using var stream = typeof(JobTemplates).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The module is missing its resource '{name}'; reinstall it.");
        using var reader = new StreamReader(stream, new UTF8Encoding(false));
        return reader.ReadToEnd();
    }

    /// <summary>The template with its placeholders filled in. Comment lines (#) are kept as written: a template's header
    /// documents its placeholders, and the rendered file keeps that documentation.</summary>
    public static string Render(string file, IReadOnlyDictionary<string, string> values)
    {
        var lines = Read(file).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimStart().StartsWith('#')) continue;
            lines[i] = Placeholder().Replace(lines[i], m => values.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);
            var left = Placeholder().Match(lines[i]);
            if (left.Success) throw new InvalidOperationException($"The template '{file}' has no value for {left.Value} (line {i + 1}).");
        }
        return string.Join('\n', lines);
    }

    [GeneratedRegex(@"\{\{([a-z_]+)\}\}")]
    private static partial Regex Placeholder();
}
