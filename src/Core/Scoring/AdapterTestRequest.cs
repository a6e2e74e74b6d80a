using System.Collections.Generic;

namespace TrainableTokens.Core.Scoring;

/// <summary>What Test-TokenAdapter checks: an adapter folder against its base model, optionally on a dataset.</summary>
public sealed record AdapterTestRequest(string AdapterFolder, string ModelFolder)
{
    /// <summary>A dataset for the eval-loss checks (with against without the adapter), or null to skip them.</summary>
    public string? Dataset { get; init; }
    /// <summary>The highest eval loss with the adapter that passes; needs <see cref="Dataset"/>.</summary>
    public double? MaxEvalLoss { get; init; }
    public string Device { get; init; } = "cpu";
    public string Dtype { get; init; } = "float32";
    public int BatchSize { get; init; } = 8;
    /// <summary>Examples are cut to this many tokens; null takes training's default (512), capped to the model's positions.</summary>
    public int? MaxSeqLength { get; init; }
}

/// <summary>What Test-TokenAdapter checks for a merged model folder: it differs from its base only in the listed rows.</summary>
public sealed record MergedModelTestRequest(string MergedFolder, string ModelFolder, IReadOnlyList<long>? TokenIndices);
