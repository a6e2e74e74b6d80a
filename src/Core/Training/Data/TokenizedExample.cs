using System.Collections.Generic;

namespace TrainableTokens.Core.Training.Data;

/// <summary>One training sequence: its ids and, per position, the label (the id itself, or -100 where no loss applies).</summary>
public sealed record TokenizedExample(IReadOnlyList<int> InputIds, IReadOnlyList<int> Labels)
{
    /// <summary>The label PyTorch's cross-entropy ignores: padding and prompts.</summary>
    public const int IgnoreIndex = -100;
}
