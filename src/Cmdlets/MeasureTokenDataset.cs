using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using TrainableTokens.Core.Tokenization;
using TrainableTokens.Core.Training.Data;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// Reads and tokenises training data exactly as training will (JSONL, JSON, text files or pipeline input) and reports
/// what it gives, so data problems show before a run starts.
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "TokenDataset", DefaultParameterSetName = "Path")]
[OutputType(typeof(PSObject))]
public sealed class MeasureTokenDataset : PSCmdlet
{
    private readonly List<object?> _input = new();

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Model { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = "Path")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = "InputObject")]
    [AllowEmptyString]
    public object? InputObject { get; set; }

    [Parameter]
    [ValidateRange(1, 1_000_000)]
    public int MaxLength { get; set; } = 512;

    [Parameter]
    public SwitchParameter Packing { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == "InputObject") _input.Add(InputObject);
    }

    protected override void EndProcessing()
    {
        var model = GetUnresolvedProviderPathFromPSPath(Model);
        var path = ParameterSetName == "Path" ? GetUnresolvedProviderPathFromPSPath(Path) : null;
        try
        {
            WriteObject(Measure(model, path, _input, MaxLength, Packing));
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static PSObject Measure(string model, string? path, List<object?> input, int maxLength, bool packing)
    {
        using var tokenizer = ModelTokenizer.Load(model);
        var records = path is not null
            ? DatasetReader.ReadFile(path)
            : input.Select((item, i) => (DatasetRecord)DatasetInput.Record(item, i + 1));
        var data = TokenizedDataset.Build(tokenizer, records, new DatasetOptions { MaxLength = maxLength, Packing = packing }, path ?? DatasetRecord.PipelineSource);
        var s = data.Summary;
        var result = new PSObject();
        result.TypeNames.Insert(0, "TrainableTokens.DatasetSummary");
        result.Properties.Add(new PSNoteProperty("Source", path ?? DatasetRecord.PipelineSource));
        result.Properties.Add(new PSNoteProperty("Records", s.Records));
        result.Properties.Add(new PSNoteProperty("Sequences", s.Sequences));
        result.Properties.Add(new PSNoteProperty("Tokens", s.Tokens));
        result.Properties.Add(new PSNoteProperty("LabelledTokens", s.LabelledTokens));
        result.Properties.Add(new PSNoteProperty("Truncated", s.Truncated));
        result.Properties.Add(new PSNoteProperty("EmptyRecords", s.EmptyRecords));
        result.Properties.Add(new PSNoteProperty("Formats", string.Join(", ", s.Formats.Select(f => $"{f.Key}={f.Value}"))));
        result.Properties.Add(new PSNoteProperty("ChatTemplate", s.ChatTemplate?.ToString()));
        result.Properties.Add(new PSNoteProperty("MaxLength", maxLength));
        result.Properties.Add(new PSNoteProperty("Packing", packing));
        result.Properties.Add(new PSNoteProperty("PadTokenId", data.PadTokenId));
        result.Properties.Add(new PSNoteProperty("FirstSequence", data.Examples[0].InputIds.ToArray()));
        result.Properties.Add(new PSNoteProperty("FirstLabels", data.Examples[0].Labels.ToArray()));
        return result;
    }
}
