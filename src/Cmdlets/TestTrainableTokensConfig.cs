using System;
using System.IO;
using System.Management.Automation;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// Checks a run file (or a config object) before any training, exactly as Start-TokenTraining does with the same
/// parameters: the schema (every mistake at once, with line and column), then the model, device, dataset (tokenised),
/// output folder and checkpoint to resume from. Writes one finding per problem and nothing when the run is good;
/// a setting the run still lacks (base_model, dataset, output_dir) is a warning here and an error at Start.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "TrainableTokensConfig", DefaultParameterSetName = ConfigSet)]
[OutputType("TrainableTokens.Core.Configuration.ConfigFinding")]
public sealed class TestTrainableTokensConfig : RunSettingsCmdlet
{
    private const string PathSet = "Path";
    private const string ConfigSet = "Config";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>A run config from New-TrainableTokensConfig (engine type, hence object here).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ConfigSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public object Config { get; set; } = null!;

    protected override void ProcessRecord()
    {
        var settings = Settings();
        var here = SessionState.Path.CurrentFileSystemLocation.ProviderPath;
        var paths = Path;
        if (ParameterSetName == ConfigSet)
        {
            // A file or path piped in lands here (the default set): it is a run file, as for Start-TokenTraining.
            switch (Config is PSObject ps ? ps.BaseObject : Config)
            {
                case FileInfo info: paths = new[] { info.FullName }; break;
                case string text: paths = new[] { text }; break;
                case var config:
                    Check(null, config, settings, here);
                    return;
            }
        }
        foreach (var item in paths)
        {
            var file = GetUnresolvedProviderPathFromPSPath(item);
            if (!File.Exists(file))
            {
                WriteError(new ErrorRecord(new FileNotFoundException($"The run file '{file}' does not exist.", file), "RunFileNotFound", ErrorCategory.ObjectNotFound, file));
                continue;
            }
            Check(file, null, settings, here);
        }
    }

    private void Check(string? file, object? config, RunSettings settings, string here)
    {
        WriteVerbose($"Checking {file ?? "the run config"}{(settings.Model is null ? "" : $" against the model in {settings.Model}")}.");
        try
        {
            var run = TrainingSession.Check(file, config, settings, here, forTraining: false);
            foreach (var reason in run.Skipped) WriteVerbose("Skipped: " + reason);
            foreach (var finding in run.Findings) WriteObject(finding);
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e));
        }
    }
}
