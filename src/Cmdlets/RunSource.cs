using System.IO;
using System.Management.Automation;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// Where a run comes from for the cmdlets that take one by -Path or -Config (Start-TokenTraining,
/// Export-TokenTrainingJob): a run file, or a RunConfig object. A file or path piped to -Config is taken as -Path.
/// </summary>
internal static class RunSource
{
    public static (string? File, object? Config) Of(PSCmdlet cmdlet, bool byPath, string path, object? config)
    {
        if (byPath) return (cmdlet.GetUnresolvedProviderPathFromPSPath(path), null);
        var value = config is PSObject ps ? ps.BaseObject : config;
        return value switch
        {
            FileInfo info => (info.FullName, null),
            string text => (cmdlet.GetUnresolvedProviderPathFromPSPath(text), null),
            _ => (null, value),
        };
    }
}
