using System;
using System.Linq;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using TrainableTokens.Core.Scoring;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// Acceptance checks of an adapter against its base model, one object per guarantee (PEFT layout, finite rows, fits the
/// model, merge changes only the listed rows, eval loss), or of a merged model folder against its base.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "TokenAdapter", DefaultParameterSetName = AdapterSet)]
[OutputType("TrainableTokens.Core.Scoring.AdapterCheck")]
public sealed class TestTokenAdapter : PSCmdlet
{
    private const string AdapterSet = "Adapter";
    private const string MergedSet = "Merged";

    /// <summary>The base model folder; left out (for an adapter), it is adapter_config.json's base_model_name_or_path.</summary>
    [Parameter(Position = 0, ParameterSetName = AdapterSet)]
    [Parameter(Position = 0, Mandatory = true, ParameterSetName = MergedSet)]
    [ValidateNotNullOrEmpty]
    public string? Model { get; set; }

    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = AdapterSet)]
    [Alias("AdapterFolder", "Path", "FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Adapter { get; set; } = Array.Empty<string>();

    /// <summary>A merged model folder (Merge-TokenAdapter's output) to compare with -Model.</summary>
    [Parameter(Mandatory = true, ParameterSetName = MergedSet)]
    [ValidateNotNullOrEmpty]
    public string MergedModel { get; set; } = "";

    /// <summary>The token ids whose rows a merged folder may differ in; left out, every changed row is reported and passes.</summary>
    [Parameter(ParameterSetName = MergedSet)]
    public long[]? TokenIndex { get; set; }

    [Parameter(ParameterSetName = AdapterSet)]
    [ValidateNotNullOrEmpty]
    public string? Dataset { get; set; }

    [Parameter(ParameterSetName = AdapterSet)]
    [ValidateRange(0.0, double.MaxValue)]
    public double? MaxEvalLoss { get; set; }

    [Parameter(ParameterSetName = AdapterSet)]
    [ValidateNotNullOrEmpty]
    public string Device { get; set; } = "cpu";

    [Parameter(ParameterSetName = AdapterSet)]
    [ValidateSet("float32", "bfloat16", "float16")]
    public string Dtype { get; set; } = "float32";

    [Parameter(ParameterSetName = AdapterSet)]
    [ValidateRange(1, 4096)]
    public int BatchSize { get; set; } = 8;

    [Parameter(ParameterSetName = AdapterSet)]
    [ValidateRange(1, 1_000_000)]
    public int? MaxSeqLength { get; set; }

    protected override void BeginProcessing()
    {
        if (MaxEvalLoss is not null && Dataset is null)
            ThrowTerminatingError(new ErrorRecord(new PSArgumentException("-MaxEvalLoss needs -Dataset: the eval loss is measured on it."),
                "MaxEvalLossNeedsDataset", ErrorCategory.InvalidArgument, MaxEvalLoss));
    }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == MergedSet) return;
        foreach (var adapter in Adapter.Select(GetUnresolvedProviderPathFromPSPath))
        {
            try
            {
                WriteProgress(new ProgressRecord(1, "Test-TokenAdapter", $"Checking {adapter}") { PercentComplete = -1 });
                foreach (var check in Check(adapter)) WriteObject(AsTable(check));
            }
            catch (Exception e) when (e is not PipelineStoppedException)
            {
                WriteError(ErrorRecords.From(e));
            }
        }
        WriteProgress(new ProgressRecord(1, "Test-TokenAdapter", "Done") { RecordType = ProgressRecordType.Completed });
    }

    protected override void EndProcessing()
    {
        if (ParameterSetName != MergedSet) return;
        try
        {
            foreach (var check in CheckMerged(GetUnresolvedProviderPathFromPSPath(MergedModel), GetUnresolvedProviderPathFromPSPath(Model!))) WriteObject(AsTable(check));
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e));
        }
    }

    /// <summary>Checks print as a table of Name, Outcome and Detail (every property stays on the object).</summary>
    private static PSObject AsTable(object check)
    {
        var value = PSObject.AsPSObject(check);
        value.Members.Add(new PSMemberSet("PSStandardMembers", [new PSPropertySet("DefaultDisplayPropertySet", ["Name", "Outcome", "Detail"])]));
        return value;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private object[] Check(string adapter)
    {
        var cwd = SessionState.Path.CurrentFileSystemLocation.ProviderPath;
        var model = AdapterBaseModel.Resolve(adapter, Model is null ? null : GetUnresolvedProviderPathFromPSPath(Model), cwd);
        return AdapterAcceptance.Run(new AdapterTestRequest(adapter, model)
        {
            Dataset = Dataset is null ? null : GetUnresolvedProviderPathFromPSPath(Dataset),
            MaxEvalLoss = MaxEvalLoss, Device = Device, Dtype = Dtype, BatchSize = BatchSize, MaxSeqLength = MaxSeqLength,
        }).Cast<object>().ToArray();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private object[] CheckMerged(string merged, string model) =>
        AdapterAcceptance.RunMerged(new MergedModelTestRequest(merged, model, TokenIndex)).Cast<object>().ToArray();
}
