using System.IO;
using TrainableTokens.Core.IO;

namespace TrainableTokens.Core.Configuration;

/// <summary>Reading a run file from disk, bounded: a regular file of UTF-8 text, at most <see cref="MaxFileBytes"/>.</summary>
public sealed partial record RunConfig
{
    /// <summary>A run file with a million token ids is about 8 MB; anything past this is not a run file.</summary>
    public const long MaxFileBytes = 32L << 20;

    /// <summary>
    /// Reads a run file. Problems in it do not throw: <see cref="Validate()"/> reports them with line and column. A file
    /// that cannot be read as text at all (missing, a folder or device, too large, not UTF-8) is an
    /// <see cref="InvalidConfigException"/> that names it and says what to do.
    /// </summary>
    /// <param name="path">The run file (YAML).</param>
    public static RunConfig Load(string path)
    {
        var full = Path.GetFullPath(path);
        string text;
        try
        {
            text = UserFile.ReadAllText(full, MaxFileBytes, "run file", message => Unreadable(full, message));
        }
        catch (IOException e)
        {
            throw Unreadable(full, $"The run file '{full}' cannot be read: {e.Message}");
        }
        catch (System.UnauthorizedAccessException e)
        {
            throw Unreadable(full, $"The run file '{full}' cannot be read: {e.Message} Check its permissions.");
        }
        return FromYaml(text, full);
    }

    private static InvalidConfigException Unreadable(string path, string message) =>
        new(new[] { new ConfigFinding(ConfigSeverity.Error, "", null, null, message) { Source = path } }, path);
}
