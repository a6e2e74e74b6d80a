using System;
using TrainableTokens.Core;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;

namespace TrainableTokens.Cmdlets;

/// <summary>Generates text from a model folder, with zero or more trainable-tokens adapters, using a KV cache.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "TokenGeneration", DefaultParameterSetName = PromptSet)]
[OutputType("TrainableTokens.Core.Generation.GenerationResult")]
public sealed class InvokeTokenGeneration : PSCmdlet, IDisposable
{
    private const string PromptSet = "Prompt", IdsSet = "InputId", MessagesSet = "Messages";
    private readonly CancellationTokenSource _cancel = new();
    // The model and adapters, loaded by the first record and reused by the rest of the pipeline's prompts.
    private object? _loaded;

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Model { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PromptSet, ValueFromPipeline = true)]
    [AllowEmptyString]
    public string Prompt { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = IdsSet)]
    [ValidateNotNullOrEmpty]
    public long[] InputId { get; set; } = Array.Empty<long>();

    [Parameter(Mandatory = true, ParameterSetName = MessagesSet)]
    [ValidateNotNullOrEmpty]
    public object[] Messages { get; set; } = Array.Empty<object>();

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] Adapter { get; set; } = Array.Empty<string>();

    [Parameter]
    public int MaxNewTokens { get; set; } = 64;

    [Parameter]
    public double? Temperature { get; set; }

    [Parameter]
    public int? TopK { get; set; }

    [Parameter]
    public double? TopP { get; set; }

    [Parameter]
    public long? Seed { get; set; }

    [Parameter]
    [ValidateNotNull]
    public string[] Stop { get; set; } = Array.Empty<string>();

    [Parameter]
    [ValidateNotNullOrEmpty]
    public int[]? EosTokenId { get; set; }

    [Parameter]
    public SwitchParameter Stream { get; set; }

    [Parameter]
    public SwitchParameter NoCache { get; set; }

    [Parameter]
    [ValidateSet("float32", "bfloat16", "float16")]
    public string Dtype { get; set; } = "float32";

    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(DeviceCompleter))]
    public string Device { get; set; } = "cpu";

    protected override void StopProcessing() => _cancel.Cancel();

    /// <summary>PowerShell disposes a cmdlet when its pipeline ends, stopped or not: the model goes then.</summary>
    public void Dispose()
    {
        GenerationSession.Release(_loaded);
        _loaded = null;
        _cancel.Dispose();
    }

    protected override void ProcessRecord()
    {
        try
        {
            var input = new GenerationInput(
                GetUnresolvedProviderPathFromPSPath(Model),
                ParameterSetName == PromptSet ? Prompt : null,
                ParameterSetName == IdsSet ? InputId : null,
                ParameterSetName == MessagesSet ? Messages.Select(ToMessage).ToList() : null,
                Adapter.Select(GetUnresolvedProviderPathFromPSPath).ToArray(),
                MaxNewTokens,
                // -TopK, -TopP or -Seed alone ask for sampling: at temperature 1 unless -Temperature says otherwise.
                Temperature ?? (TopK is not null || TopP is not null || Seed is not null ? 1.0 : 0.0),
                TopK ?? 0, TopP ?? 1.0, Seed, EosTokenId, Stop, Dtype, Device, !NoCache);
            WriteVerbose($"Generating up to {MaxNewTokens} tokens with {input.Model} in {Dtype} on {Device}" +
                (input.Adapters.Length > 0 ? $" and {input.Adapters.Length} adapter(s)" : "") + ".");
            var activity = $"Generating with {System.IO.Path.GetFileName(input.Model.TrimEnd('/', '\\'))}";
            var result = GenerationSession.Run(input, ref _loaded, (index, id, text) =>
            {
                if (Stream)
                {
                    if (text.Length > 0) WriteInformation(new HostInformationMessage { Message = text, NoNewLine = true }, new[] { "TokenStream" });
                }
                else
                {
                    WriteProgress(new ProgressRecord(1, activity, $"Token {index + 1}/{MaxNewTokens}") { PercentComplete = (int)(100.0 * (index + 1) / MaxNewTokens) });
                }
            }, _cancel.Token);
            if (Stream) WriteInformation(new HostInformationMessage { Message = "" }, new[] { "TokenStream" });
            else WriteProgress(new ProgressRecord(1, activity, "Done") { RecordType = ProgressRecordType.Completed });
            if (GenerationSession.Cancelled(result)) throw new PipelineStoppedException();
            WriteObject(result);
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e));
        }
    }

    /// <summary>A message is a hashtable or object with role and content, as in Python's [{"role": ..., "content": ...}].</summary>
    private static (string Role, string Content) ToMessage(object item, int index)
    {
        var value = item is PSObject ps ? ps.BaseObject : item;
        string? Get(string name) => value switch
        {
            IDictionary d => d.Keys.Cast<object>().FirstOrDefault(k => string.Equals(k?.ToString(), name, StringComparison.OrdinalIgnoreCase)) is { } key ? d[key]?.ToString() : null,
            _ => PSObject.AsPSObject(item).Properties[name]?.Value?.ToString(),
        };
        var role = Get("role");
        var content = Get("content");
        if (role is null || content is null)
            throw new InvalidGenerationSettingsException($"-Messages[{index}] needs a role and a content, e.g. @{{ role = 'user'; content = 'Hello' }}; it has {(role is null ? "no role" : "no content")}.", "Messages");
        return (role, content);
    }
}
