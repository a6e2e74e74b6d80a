using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using TrainableTokens.Core.Untrained;

namespace TrainableTokens.Cmdlets;

/// <summary>Lists the tokens of a model folder whose embedding row (or untied head row) is zero, near zero or duplicated.</summary>
[Cmdlet(VerbsCommon.Find, "UntrainedToken")]
[OutputType("TrainableTokens.Core.Untrained.UntrainedToken")]
public sealed class FindUntrainedToken : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "Path", "OutputPath")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ModelFolderCompleter))]
    public string[] Model { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        foreach (var model in Model)
        {
            try
            {
                var (tokens, summary) = Find(GetUnresolvedProviderPathFromPSPath(model));
                WriteVerbose(summary);
                foreach (var token in tokens) WriteObject(token);
            }
            catch (Exception e) when (e is not PipelineStoppedException)
            {
                WriteError(ErrorRecords.From(e));
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (IEnumerable<object> Tokens, string Summary) Find(string folder)
    {
        var report = UntrainedTokenFinder.Find(folder);
        var head = report.HeadMedianNorm is { } h ? $", head median norm {h:G4}" : " (tied head)";
        return (report.Tokens, $"{report.ModelFolder}: {report.Tokens.Count} of {report.VocabSize} rows untrained; embedding median norm {report.EmbeddingMedianNorm:G4}{head}.");
    }
}
