using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using TrainableTokens.Core.Scoring;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// Scores a model, with zero or more adapters: the loss and perplexity of a dataset (the trainer's eval loss), the
/// log-probability of each token of a text, or the probability of tokens right after a prompt.
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "TokenModel", DefaultParameterSetName = DatasetSet)]
[OutputType("TrainableTokens.Core.Scoring.DatasetScore", ParameterSetName = [DatasetSet])]
[OutputType("TrainableTokens.Core.Scoring.DatasetScoreComparison", ParameterSetName = [DatasetSet])]
[OutputType("TrainableTokens.Core.Scoring.TextScore", ParameterSetName = [TextSet])]
[OutputType("TrainableTokens.Core.Scoring.NextTokenScore", ParameterSetName = [NextSet])]
public sealed class MeasureTokenModel : PSCmdlet
{
    private const string DatasetSet = "Dataset";
    private const string TextSet = "Text";
    private const string NextSet = "NextToken";
    private readonly List<string> _adapters = new();

    /// <summary>The model folder; left out, it is the first adapter's base_model_name_or_path (a local folder).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("BaseModelNameOrPath")]
    [ValidateNotNullOrEmpty]
    public string? Model { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = DatasetSet)]
    [ValidateNotNullOrEmpty]
    public string Dataset { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = TextSet)]
    [ValidateNotNullOrEmpty]
    public string Text { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = NextSet)]
    [AllowEmptyString]
    public string After { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = NextSet)]
    [ValidateNotNullOrEmpty]
    public string[] Token { get; set; } = Array.Empty<string>();

    [Parameter(ParameterSetName = NextSet)]
    [ValidateRange(1, 100)]
    public int Top { get; set; } = 5;

    [Parameter(ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("AdapterFolder", "Path", "FullName")]
    [ValidateNotNullOrEmpty]
    public string[]? Adapter { get; set; }

    /// <summary>Score the dataset with and without the adapters (one model load) and return both with the change.</summary>
    [Parameter(ParameterSetName = DatasetSet)]
    public SwitchParameter Compare { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Device { get; set; } = "cpu";

    [Parameter]
    [ValidateSet("float32", "bfloat16", "float16")]
    public string Dtype { get; set; } = "float32";

    [Parameter(ParameterSetName = DatasetSet)]
    [ValidateRange(1, 4096)]
    public int BatchSize { get; set; } = 8;

    /// <summary>Examples are cut to this many tokens, as training's max_seq_length; left out, 512 or the model's positions if fewer.</summary>
    [Parameter(ParameterSetName = DatasetSet)]
    [ValidateRange(1, 1_000_000)]
    public int? MaxSeqLength { get; set; }

    protected override void ProcessRecord()
    {
        if (Adapter is not null) _adapters.AddRange(Adapter.Select(GetUnresolvedProviderPathFromPSPath));
    }

    protected override void EndProcessing()
    {
        try
        {
            if (Compare && _adapters.Count == 0)
                throw new PSArgumentException("-Compare scores the dataset with and without adapters: give one or more with -Adapter.");
            var cwd = SessionState.Path.CurrentFileSystemLocation.ProviderPath;
            var model = Model is not null ? GetUnresolvedProviderPathFromPSPath(Model)
                : _adapters.Count > 0 ? ResolveModel(_adapters[0], cwd)
                : throw new PSArgumentException("Give -Model (a Hugging Face model folder), or -Adapter to take the model from its base_model_name_or_path.");
            var dataset = ParameterSetName == DatasetSet ? GetUnresolvedProviderPathFromPSPath(Dataset) : null;
            WriteVerbose($"Loading {model} in {Dtype} on {Device}{(_adapters.Count > 0 ? $" with {string.Join(", ", _adapters)}" : "")}.");
            foreach (var result in Score(model, dataset)) WriteObject(result);
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(e is PSArgumentException ? new ErrorRecord(e, "InvalidArgument", ErrorCategory.InvalidArgument, null) : ErrorRecords.From(e));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string ResolveModel(string adapter, string cwd) => AdapterBaseModel.Resolve(adapter, null, cwd);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private IEnumerable<object> Score(string model, string? dataset)
    {
        using var scorer = ModelScorer.Open(new ScoringModel(model, _adapters) { Device = Device, Dtype = Dtype });
        switch (ParameterSetName)
        {
            case TextSet:
                return [scorer.ScoreText(Text)];
            case NextSet:
                return scorer.ScoreNext(After, Token, Top).Cast<object>().ToList();
            default:
                var data = scorer.ReadDataset(dataset!, MaxSeqLength ?? Math.Min(AdapterAcceptance.DefaultMaxSeqLength, scorer.Config.MaxPositions));
                var adapted = scorer.Score(data, dataset!, BatchSize);
                return Compare ? [new DatasetScoreComparison(scorer.Score(data, dataset!, BatchSize, withAdapters: false), adapted)] : [adapted];
        }
    }
}
