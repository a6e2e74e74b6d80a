using System;
using System.Linq;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using TrainableTokens.Core.Jobs;

namespace TrainableTokens.Cmdlets;

/// <summary>Brings back the adapter a Hugging Face Trainer + PEFT job (Export-TokenTrainingJob's) wrote, as a clean PEFT
/// adapter folder that Test-TokenAdapter and Merge-TokenAdapter take.</summary>
[Cmdlet(VerbsData.Import, "TokenTrainingJob", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType("TrainableTokens.Core.Jobs.JobImportResult")]
public sealed class ImportTokenTrainingJob : PSCmdlet
{
    /// <summary>The job folder Export-TokenTrainingJob wrote (it holds job.json).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "JobFolder")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The folder holding the run's adapter; left out, the job's output folder. A checkpoint-N folder works too.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? AdapterPath { get; set; }

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string OutputPath { get; set; } = "";

    /// <summary>The model to check the adapter against; left out, job.json's base_model.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ModelFolderCompleter))]
    public string? BaseModel { get; set; }

    [Parameter] public SwitchParameter AllowConfigDifference { get; set; }

    [Parameter] public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            // Plan first: every check runs (and every error shows) even under -WhatIf, and nothing is written on failure.
            var plan = Plan();
            if (!ShouldProcess(GetUnresolvedProviderPathFromPSPath(OutputPath), $"Write the adapter of job {GetUnresolvedProviderPathFromPSPath(Path)} as a clean PEFT folder ({Describe(plan)})")) return;
            WriteObject(Run());
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e));
        }
    }

    private object Request() => new JobImportRequest(GetUnresolvedProviderPathFromPSPath(Path), GetUnresolvedProviderPathFromPSPath(OutputPath))
    {
        AdapterPath = AdapterPath is null ? null : GetUnresolvedProviderPathFromPSPath(AdapterPath),
        BaseModel = BaseModel is null ? null : GetUnresolvedProviderPathFromPSPath(BaseModel),
        AllowConfigDifference = AllowConfigDifference,
        Overwrite = Force,
    };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private object Plan()
    {
        var plan = JobImport.Plan((JobImportRequest)Request());
        WriteVerbose($"Adapter {plan.AdapterSource}, checked against {plan.BaseModel}.");
        foreach (var repair in plan.Repairs) WriteVerbose($"Renamed {repair}.");
        foreach (var difference in plan.ConfigDifferences)
        {
            if (difference.Key == AdapterConfigComparison.BaseModelKey) WriteVerbose($"adapter_config.json differs from job.json's: {difference}.");
            else WriteWarning($"adapter_config.json differs from job.json's (allowed by -AllowConfigDifference): {difference}.");
        }
        return plan;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string Describe(object plan)
    {
        var p = (JobImportResult)plan;
        return $"{p.Repairs.Count} tensor name(s) repaired, {p.ConfigDifferences.Count} config difference(s)";
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private object Run() => JobImport.Run((JobImportRequest)Request());
}
