using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Preflight;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// Checks a run file before any training: the schema (every mistake at once, with line and column), then the model,
/// device, dataset and output folder. Writes one finding per problem and nothing when the file is good.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "TrainableTokensConfig")]
[OutputType("TrainableTokens.Core.Configuration.ConfigFinding")]
public sealed class TestTrainableTokensConfig : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Model { get; set; } = "";

    protected override void ProcessRecord()
    {
        var model = MyInvocation.BoundParameters.ContainsKey(nameof(Model)) ? GetUnresolvedProviderPathFromPSPath(Model) : null;
        foreach (var item in Path)
        {
            var file = GetUnresolvedProviderPathFromPSPath(item);
            if (!File.Exists(file))
            {
                WriteError(new ErrorRecord(new FileNotFoundException($"The run file '{file}' does not exist.", file), "RunFileNotFound", ErrorCategory.ObjectNotFound, file));
                continue;
            }
            WriteVerbose($"Checking {file}{(model is null ? "" : $" against the model in {model}")}.");
            try
            {
                var (findings, skipped) = Check(file, model);
                foreach (var reason in skipped) WriteVerbose("Skipped: " + reason);
                foreach (var finding in findings) WriteObject(finding);
            }
            catch (Exception e) when (e is not PipelineStoppedException)
            {
                WriteError(ErrorRecords.From(e));
            }
        }
    }

    // Engine types stay inside non-inlined methods so PowerShell does not resolve them while binding the cmdlet.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (IReadOnlyList<object> Findings, IReadOnlyList<string> Skipped) Check(string file, string? model)
    {
        var report = RunPreflight.Check(new PreflightRequest(RunConfig.Load(file)) { ModelFolder = model, DatasetTokenization = new TokenizedDatasetCheck() });
        return (new List<object>(report.Findings), report.Skipped);
    }
}
