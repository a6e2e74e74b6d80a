using System.Collections.Generic;

namespace TrainableTokens.Core.Scoring;

/// <summary>What to score with: a model folder and zero or more adapters (all active together; their token ids must not overlap).</summary>
public sealed record ScoringModel(string ModelFolder, IReadOnlyList<string> AdapterFolders)
{
    /// <summary>"cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>"float32" (default), "bfloat16" or "float16"; the loss is computed in float32 either way, as in training.</summary>
    public string Dtype { get; init; } = "float32";
}
