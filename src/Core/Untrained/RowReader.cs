using static TorchSharp.torch;

namespace TrainableTokens.Core.Untrained;

/// <summary>Reads rows <paramref name="first"/> .. <paramref name="first"/> + <paramref name="count"/> - 1 of a
/// [rows, dim] matrix as a tensor of any floating dtype on any device; the scan disposes it.</summary>
public delegate Tensor RowReader(long first, long count);
