namespace TrainableTokens.Core.Jobs;

/// <summary>A run setting the exported job cannot honour exactly: the setting's run-file name and what differs.</summary>
public sealed record JobWarning(string Setting, string Message)
{
    public override string ToString() => $"{Setting}: {Message}";
}
