using System.Collections.Generic;

namespace TrainableTokens.Core.Training.Data;

/// <summary>
/// What tokenising a dataset gave: records read, sequences made, tokens and tokens with a loss, examples cut to the
/// maximum length, records that gave no tokens, prompt/completion records whose prompt tokens were not a prefix of the
/// whole (the boundary merged), records per format, and the chat template shape used.
/// </summary>
public sealed record DatasetSummary(
    int Records,
    int Sequences,
    int Tokens,
    int LabelledTokens,
    int Truncated,
    int EmptyRecords,
    int PromptBoundaryMerges,
    IReadOnlyDictionary<DatasetFormat, int> Formats,
    ChatTemplateShape? ChatTemplate);
