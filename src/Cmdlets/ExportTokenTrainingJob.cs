using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Jobs;
using TrainableTokens.Core.Preflight;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// Exports a run to a job folder that Hugging Face's Trainer + PEFT runs under accelerate (FSDP or DeepSpeed ZeRO-3),
/// for models that outgrow one GPU: the run is checked as Start-TokenTraining checks it, its data tokenised here, and
/// every setting the Python side cannot honour exactly is a warning, here and in the job's README.
/// </summary>
[Cmdlet(VerbsData.Export, "TokenTrainingJob", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ConfigSet)]
[OutputType("TrainableTokens.Core.Jobs.JobExportResult")]
public sealed class ExportTokenTrainingJob : PSCmdlet
{
    private const string PathSet = "Path";
    private const string ConfigSet = "Config";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>A run config from New-TrainableTokensConfig (engine type, hence object here).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ConfigSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public object Config { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string OutputPath { get; set; } = "";

    [Parameter]
    [ValidateSet("Fsdp", "DeepSpeed", IgnoreCase = true)]
    public string Engine { get; set; } = "Fsdp";

    /// <summary>Processes (GPUs) per node.</summary>
    [Parameter]
    [ValidateRange(1, 4096)]
    public int Processes { get; set; } = 1;

    [Parameter]
    [ValidateRange(1, 4096)]
    public int Nodes { get; set; } = 1;

    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ModelFolderCompleter))]
    public string Model { get; set; } = "";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Dataset { get; set; } = "";

    [Parameter] public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var (file, config) = Source();
        if (file is not null && !File.Exists(file))
        {
            WriteError(new ErrorRecord(new FileNotFoundException($"The run file '{file}' does not exist.", file), "RunFileNotFound", ErrorCategory.ObjectNotFound, file));
            return;
        }
        try
        {
            var bound = MyInvocation.BoundParameters;
            var request = new ExportSettings(file, config, GetUnresolvedProviderPathFromPSPath(OutputPath), Engine, Processes, Nodes,
                bound.ContainsKey(nameof(Model)) ? GetUnresolvedProviderPathFromPSPath(Model) : null,
                bound.ContainsKey(nameof(Dataset)) ? GetUnresolvedProviderPathFromPSPath(Dataset) : null,
                Force.IsPresent, SessionState.Path.CurrentFileSystemLocation.ProviderPath, MyInvocation.MyCommand.Module?.Version?.ToString());
            WriteProgress(new ProgressRecord(1, "Export-TokenTrainingJob", $"Checking {file ?? "the run config"} and tokenising its data") { PercentComplete = -1 });
            var plan = JobSession.Plan(request, out var errors, out var warnings, out var summary);
            foreach (var warning in warnings) WriteWarning(warning);
            if (plan is null)
            {
                foreach (var (text, finding) in errors)
                    WriteError(new ErrorRecord(new InvalidDataException(text), "RunFileInvalid", ErrorCategory.InvalidData, finding));
                WriteVerbose($"{errors.Count} error(s) in {file ?? "the run config"}; nothing was written. Test-TrainableTokensConfig lists them too.");
                return;
            }
            if (!ShouldProcess(request.OutputPath, summary)) return;
            WriteProgress(new ProgressRecord(1, "Export-TokenTrainingJob", $"Writing {request.OutputPath}") { PercentComplete = -1 });
            WriteObject(JobSession.Write(plan));
            WriteProgress(new ProgressRecord(1, "Export-TokenTrainingJob", "Done") { RecordType = ProgressRecordType.Completed });
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e));
        }
    }

    private (string? File, object? Config) Source() => RunSource.Of(this, ParameterSetName == PathSet, Path, Config);
}

/// <summary>Export-TokenTrainingJob's parameters, in cmdlet-side types.</summary>
internal sealed record ExportSettings(string? RunFile, object? Config, string OutputPath, string Engine, int Processes, int Nodes,
    string? Model, string? Dataset, bool Force, string CurrentDirectory, string? ModuleVersion);

/// <summary>The bridge to the engine's exporter: engine types appear only inside these non-inlined methods.</summary>
internal static class JobSession
{
    /// <summary>The checked export (an engine object), or null with the errors; warnings and a -WhatIf summary either way.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static object? Plan(ExportSettings settings, out List<(string Text, object Finding)> errors, out List<string> warnings, out string summary)
    {
        errors = new();
        warnings = new();
        summary = "";
        var config = settings.RunFile is not null ? RunConfig.Load(settings.RunFile)
            : settings.Config as RunConfig ?? throw new ArgumentException($"-Config takes a run config from New-TrainableTokensConfig, not a {settings.Config?.GetType().Name ?? "null"}. Give a run file with -Path.");
        var request = new JobExportRequest(config, settings.OutputPath)
        {
            RunFile = settings.RunFile,
            BaseDirectory = settings.RunFile is not null ? System.IO.Path.GetDirectoryName(settings.RunFile) : settings.CurrentDirectory,
            Overrides = new RunOverrides
            {
                BaseModel = settings.Model,
                Dataset = settings.Dataset,
                Parameters = new Dictionary<string, string> { ["training.base_model"] = "-Model", ["training.dataset"] = "-Dataset" },
            },
            Engine = string.Equals(settings.Engine, "DeepSpeed", StringComparison.OrdinalIgnoreCase) ? JobEngine.DeepSpeed : JobEngine.Fsdp,
            Processes = settings.Processes,
            Nodes = settings.Nodes,
            Overwrite = settings.Force,
            ExportedBy = "TrainableTokens " + (settings.ModuleVersion ?? "(development build)"),
        };
        JobExportPlan plan;
        try
        {
            plan = JobExporter.Plan(request);
        }
        catch (Core.InvalidConfigException e)
        {
            foreach (var f in e.Findings)
            {
                if (f.Severity == ConfigSeverity.Error) errors.Add((f.ToString(), f));
                else warnings.Add(f.ToString());
            }
            return null;
        }
        warnings.AddRange(plan.RunWarnings.Select(f => f.ToString()));
        warnings.AddRange(plan.Warnings.Select(w => $"The job cannot honour {w}"));
        summary = $"Write a {plan.Job["method"]} training job for {plan.Run.ModelFolder} ({plan.TrainExamples} examples, {plan.Batching.Plan.TotalSteps} steps, " +
                  $"{request.Engine} on {request.Nodes} node(s) x {request.Processes} process(es))";
        return plan;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static object Write(object plan) => JobExporter.Write((JobExportPlan)plan);
}
