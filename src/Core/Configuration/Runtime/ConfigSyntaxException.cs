namespace TrainableTokens.Core.Configuration;

/// <summary>
/// Parsing cannot go on: the file went past one of <see cref="ConfigLimits"/>, or holds what no config value can be
/// (a string that is half a character). It never leaves the parsers: they stop and turn it into a finding at
/// <see cref="Line"/> and <see cref="Column"/>.
/// </summary>
internal sealed class ConfigSyntaxException : System.Exception
{
    public ConfigSyntaxException(int? line, int? column, string message)
        : base(message)
    {
        Line = line;
        Column = column;
    }

    public int? Line { get; }
    public int? Column { get; }
}
