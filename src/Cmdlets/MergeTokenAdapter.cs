using System;
using System.Linq;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using TrainableTokens.Core.Merging;

namespace TrainableTokens.Cmdlets;

/// <summary>Merges adapters (Trainable Tokens, or LoRA by their peft_type) into a copy of a Hugging Face model folder, without loading the model.</summary>
[Cmdlet(VerbsData.Merge, "TokenAdapter", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType("TrainableTokens.Core.Merging.AdapterMergeResult")]
public sealed class MergeTokenAdapter : PSCmdlet
{
    /// <summary>Left out: the local folder the adapters' base_model_name_or_path names.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ModelFolderCompleter))]
    public string Model { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Path", "FullName", "AdapterFolder")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(AdapterFolderCompleter))]
    public string[] Adapter { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string OutputPath { get; set; } = "";

    [Parameter] public SwitchParameter SafeMerge { get; set; }

    [Parameter] public SwitchParameter Force { get; set; }

    private readonly System.Collections.Generic.List<string> _adapters = new();

    protected override void ProcessRecord() => _adapters.AddRange(Adapter.Select(GetUnresolvedProviderPathFromPSPath));

    protected override void EndProcessing()
    {
        var output = GetUnresolvedProviderPathFromPSPath(OutputPath);
        try
        {
            var model = MyInvocation.BoundParameters.ContainsKey(nameof(Model))
                ? GetUnresolvedProviderPathFromPSPath(Model)
                : BaseModelOf(_adapters, SessionState.Path.CurrentFileSystemLocation.ProviderPath);
            if (!MyInvocation.BoundParameters.ContainsKey(nameof(Model))) WriteVerbose($"Merging into {model}, the adapters' base_model_name_or_path.");
            // Plan first: every check runs (and every error shows) even under -WhatIf, and nothing is written on failure.
            var plan = Plan(model, output);
            if (!ShouldProcess(output, $"Write {model} with {string.Join(", ", _adapters)} merged in ({plan})")) return;
            WriteProgress(new ProgressRecord(1, "Merge-TokenAdapter", $"Copying {model} and writing merged weights") { PercentComplete = -1 });
            WriteObject(Run(model, output));
            WriteProgress(new ProgressRecord(1, "Merge-TokenAdapter", "Done") { RecordType = ProgressRecordType.Completed });
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string BaseModelOf(System.Collections.Generic.List<string> adapters, string here) =>
        TrainableTokens.Core.Tuners.TrainableTokens.AdapterBaseModel.Resolve(adapters, here);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private string Plan(string model, string output)
    {
        var plan = AdapterMerge.Plan(new AdapterMergeRequest(model, _adapters, output) { SafeMerge = SafeMerge, Overwrite = Force });
        foreach (var change in plan.Changes)
            WriteVerbose($"{change.Adapter}: {change.TokenIndices.Count} rows of '{change.Tensor}' ({change.Dtype}) in {change.File}");
        foreach (var tensor in plan.Tensors)
            WriteVerbose($"{string.Join(", ", tensor.Adapters)}: '{tensor.Tensor}' ({tensor.Dtype}) in {tensor.File} {tensor.Change}");
        var parts = plan.Changes.Select(c => $"{c.TokenIndices.Count} rows of {c.Tensor}").ToList();
        if (plan.Tensors.Count > 0) parts.Add($"{plan.Tensors.Count} whole tensor(s): {string.Join(", ", plan.Tensors.Take(3).Select(t => t.Tensor))}{(plan.Tensors.Count > 3 ? ", ..." : "")}");
        return string.Join("; ", parts);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private object Run(string model, string output) =>
        AdapterMerge.Run(new AdapterMergeRequest(model, _adapters, output) { SafeMerge = SafeMerge, Overwrite = Force });
}
