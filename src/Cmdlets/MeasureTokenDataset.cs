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
[OutputType(typeof(DatasetSummary))]
public sealed class MeasureTokenDataset : PSCmdlet
{
    private readonly List<object?> _input = new();

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ModelFolderCompleter))]
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
    private static TrainableTokens.DatasetSummary Measure(string model, string? path, List<object?> input, int maxLength, bool packing)
    {
        using var tokenizer = ModelTokenizer.Load(model);
        var records = path is not null
            ? DatasetReader.ReadFile(path)
            : input.Select((item, i) => (DatasetRecord)DatasetInput.Record(item, i + 1));
        var data = TokenizedDataset.Build(tokenizer, records, new DatasetOptions { MaxLength = maxLength, Packing = packing }, path ?? DatasetRecord.PipelineSource);
        var s = data.Summary;
        return new TrainableTokens.DatasetSummary
        {
            Source = path ?? DatasetRecord.PipelineSource,
            Records = s.Records,
            Sequences = s.Sequences,
            Tokens = s.Tokens,
            LabelledTokens = s.LabelledTokens,
            Truncated = s.Truncated,
            EmptyRecords = s.EmptyRecords,
            Formats = string.Join(", ", s.Formats.Select(f => $"{f.Key}={f.Value}")),
            ChatTemplate = s.ChatTemplate?.ToString(),
            MaxLength = maxLength,
            Packing = packing,
            PadTokenId = data.PadTokenId,
            FirstSequence = data.Examples[0].InputIds.ToArray(),
            FirstLabels = data.Examples[0].Labels.ToArray(),
        };
    }
}
