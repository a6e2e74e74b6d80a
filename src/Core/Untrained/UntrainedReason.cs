namespace TrainableTokens.Core.Untrained;

/// <summary>Why a row of an embedding (or LM head) counts as untrained; see <see cref="RowScan"/> for the rules.</summary>
public enum UntrainedReason
{
    /// <summary>Every element is zero.</summary>
    Zero,
    /// <summary>One of at least <see cref="RowScan.DuplicateGroupMinimum"/> rows with bit-identical values.</summary>
    Duplicate,
    /// <summary>Norm below <see cref="RowScan.NearZeroFraction"/> of the median norm of the other rows.</summary>
    NearZero,
}
