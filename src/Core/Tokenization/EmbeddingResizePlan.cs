using System;
using System.Collections.Generic;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// What <see cref="EmbeddingResizer"/> does to a model folder: the new number of rows, and how rows are initialised.
/// Rows listed in <see cref="RowSources"/> become the mean of the listed existing rows (one row: a copy); every other
/// new row gets <see cref="Init"/> (<see cref="NewRowInit.Mean"/> or <see cref="NewRowInit.Random"/>; Text and Copy use
/// the mean for rows without a source, such as padding).
/// </summary>
public sealed record EmbeddingResizePlan
{
    /// <summary>The rows of the resized embedding: at least the current vocab_size.</summary>
    public required int NewVocabSize { get; init; }
    public NewRowInit Init { get; init; } = NewRowInit.Mean;
    /// <summary>Row id to the existing rows it starts from. An id below the current vocab_size (a new token in a padded
    /// vocabulary) is initialised too; all other existing rows are copied unchanged.</summary>
    public IReadOnlyDictionary<int, int[]> RowSources { get; init; } = new Dictionary<int, int[]>();
    /// <summary>Row ids below the current vocab_size that are initialised by <see cref="Init"/> (new tokens in a padded vocabulary).</summary>
    public IReadOnlyList<int> ReinitialisedRows { get; init; } = Array.Empty<int>();
    public int Seed { get; init; }
}
