namespace TrainableTokens.Fuzz;

/// <summary>
/// One parser of a user file, driven as the module drives it. <see cref="Parse"/> reads the file the runner has just
/// written at <c>Path.Combine(folder, FileName)</c>; it returns when the parser accepted the input and throws whatever
/// the parser throws when not. The runner, not the target, decides what counts as a finding.
/// </summary>
public abstract class FuzzTarget
{
    /// <summary>The name on the command line and the folder name under seeds/, regressions/ and pending/.</summary>
    public abstract string Name { get; }

    /// <summary>The name the input is written under; readers that take a folder find it by this name.</summary>
    public abstract string FileName { get; }

    /// <summary>Writes the fixed files the parser needs beside the input (once per runner).</summary>
    public virtual void Prepare(string folder)
    {
    }

    /// <summary>Reads <paramref name="path"/> (inside <paramref name="folder"/>) with the module's reader.</summary>
    public abstract void Parse(string folder, string path);
}
