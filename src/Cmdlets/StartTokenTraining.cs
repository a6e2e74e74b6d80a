using System;
using System.Collections.Concurrent;
using System.IO;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// Trains a Trainable Tokens adapter from a run file: preflight first (every error reported, nothing trained), then
/// the engine on a worker thread while this (the pipeline) thread writes its progress; Ctrl+C stops after the current step.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "TokenTraining", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType("TrainableTokens.Core.Training.TrainingResult")]
public sealed class StartTokenTraining : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Model { get; set; } = "";

    [Parameter] public SwitchParameter Force { get; set; }

    private readonly CancellationTokenSource _cancel = new();

    protected override void ProcessRecord()
    {
        var file = GetUnresolvedProviderPathFromPSPath(Path);
        if (!File.Exists(file))
        {
            WriteError(new ErrorRecord(new FileNotFoundException($"The run file '{file}' does not exist.", file), "RunFileNotFound", ErrorCategory.ObjectNotFound, file));
            return;
        }
        var model = MyInvocation.BoundParameters.ContainsKey(nameof(Model)) ? GetUnresolvedProviderPathFromPSPath(Model) : null;
        try
        {
            WriteVerbose($"Checking {file} before training.");
            var (lines, outputDir, summary) = TrainingSession.Preflight(file, model, Force);
            var errors = 0;
            foreach (var line in lines)
            {
                if (!line.IsError)
                {
                    WriteWarning(line.Text);
                    continue;
                }
                errors++;
                WriteError(new ErrorRecord(new InvalidDataException(line.Text), "RunFileInvalid", ErrorCategory.InvalidData, line.Finding));
            }
            if (errors > 0)
            {
                WriteVerbose($"{errors} error(s) in {file}; nothing was trained or written. Test-TrainableTokensConfig lists them too.");
                return;
            }
            if (!ShouldProcess(outputDir, summary)) return;
            Train(file, model);
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e));
        }
    }

    protected override void StopProcessing() => _cancel.Cancel();

    private void Train(string file, string? model)
    {
        // Not disposed here: the training thread may still add to it after a stop; it holds no native resources.
        var updates = new BlockingCollection<TrainingUpdate>();
        var task = TrainingSession.Start(file, model, Force, updates, _cancel.Token);
        var activity = $"Training {System.IO.Path.GetFileName(file)}";
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
