using System;
using System.Collections.Concurrent;
using System.IO;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// Trains a Trainable Tokens adapter from a run file or a config object: preflight first (every error reported,
/// nothing trained), then the engine on a worker thread while this (the pipeline) thread writes its progress; Ctrl+C
/// stops after the current step. Parameters such as -LearningRate replace the run file's values, checked as they are.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "TokenTraining", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ConfigSet)]
[OutputType("TrainableTokens.Core.Training.TrainingResult")]
public sealed class StartTokenTraining : RunSettingsCmdlet
{
    private const string PathSet = "Path";
    // The default set: PowerShell then offers piped objects to -Config first; a file or path piped in is taken as -Path.
    private const string ConfigSet = "Config";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>A run config from New-TrainableTokensConfig (engine type, hence object here).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ConfigSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public object Config { get; set; } = null!;

    private readonly CancellationTokenSource _cancel = new();

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
            WriteVerbose($"Checking {file ?? "the run config"} before training.");
            var run = TrainingSession.Check(file, config, Settings(), SessionState.Path.CurrentFileSystemLocation.ProviderPath, forTraining: true);
            var errors = 0;
            foreach (var line in run.Lines)
            {
                if (!line.IsError)
                {
                    WriteWarning(line.Text);
                    continue;
                }
                errors++;
                WriteError(new ErrorRecord(new InvalidDataException(line.Text), "RunFileInvalid", ErrorCategory.InvalidData, line.Finding));
            }
            if (errors > 0 || run.Run is null)
            {
                WriteVerbose($"{errors} error(s) in {file ?? "the run config"}; nothing was trained or written. Test-TrainableTokensConfig lists them too.");
                return;
            }
            if (!ShouldProcess(run.OutputDir, run.Summary)) return;
            Train(run.Run, file is null ? "run config" : System.IO.Path.GetFileName(file));
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e));
        }
    }

    /// <summary>The run file, or the config object; a file or path piped into -Config is a run file.</summary>
    private (string? File, object? Config) Source() => RunSource.Of(this, ParameterSetName == PathSet, Path, Config);

    protected override void StopProcessing() => _cancel.Cancel();

    private void Train(object run, string name)
    {
        // Not disposed here: the training thread may still add to it after a stop; it holds no native resources.
        var updates = new BlockingCollection<TrainingUpdate>();
        var task = TrainingSession.Start(run, updates, _cancel.Token);
        var activity = $"Training {name}";
        object result;
        try
        {
            // Only this thread may call Write*: it drains the queue the training thread fills, until training ends.
            foreach (var u in updates.GetConsumingEnumerable())
            {
                if (_cancel.IsCancellationRequested) continue;
                var remaining = u.Step > 0 ? (int)(u.Elapsed.TotalSeconds / u.Step * (u.TotalSteps - u.Step)) : -1;
                WriteProgress(new ProgressRecord(1, activity, $"Step {u.Step}/{u.TotalSteps}, loss {u.Loss:0.0000}, lr {u.LearningRate:0.#####e+0}")
                {
                    PercentComplete = (int)Math.Min(100, 100.0 * u.Step / Math.Max(1, u.TotalSteps)),
                    SecondsRemaining = remaining,
                });
                if (u.IsLoggingStep)
                    WriteVerbose($"step {u.Step}/{u.TotalSteps} epoch {u.Epoch:0.00} loss {u.Loss:0.0000} lr {u.LearningRate:0.######} {u.TokensPerSecond:0} tokens/s {u.Elapsed.TotalSeconds:0.0} s");
                if (u.EvalLoss is { } eval) WriteVerbose($"evaluation after step {u.Step}/{u.TotalSteps}: eval_loss {eval:0.0000} eval_perplexity {Math.Exp(eval):0.###}");
                if (u.Checkpoint is not null) WriteVerbose($"Saved checkpoint {u.Checkpoint}.");
            }
            result = task.GetAwaiter().GetResult();
        }
        catch (PipelineStoppedException)
        {
            // A stop arrived while writing progress: cancel, and let the current step finish before returning, so no
            // training thread outlives the cmdlet (and holds the model or the GPU) when the next command starts.
            _cancel.Cancel();
            try { task.Wait(); } catch (AggregateException) { }
            throw;
        }
        finally
        {
            if (!_cancel.IsCancellationRequested)
                WriteProgress(new ProgressRecord(1, activity, "Done") { RecordType = ProgressRecordType.Completed });
        }
        if (_cancel.IsCancellationRequested) throw new PipelineStoppedException();
        WriteObject(result);
    }
}
