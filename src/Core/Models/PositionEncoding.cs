using System;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>The runtime side of a <see cref="PositionSpec"/>: what it adds to the embedding output, and the rotary angles
/// the attention layers apply (computed once per forward).</summary>
internal abstract class PositionEncoding : IDisposable
{
    public virtual Tensor Embed(Tensor embedded, Tensor positions) => embedded;

    public virtual RopeAngles? Angles(Tensor positions, ScalarType dtype) => null;

    public virtual void Dispose()
    {
    }
}

/// <summary>The rotary angles of one forward for each kind of layer: full attention, and sliding attention (Gemma 3's
/// local rope; the same angles when the model has one rope).</summary>
internal sealed record RopeAngles(RotaryAngles Full, RotaryAngles Sliding)
{
    public RotaryAngles For(bool sliding) => sliding ? Sliding : Full;
}

/// <summary>cos and sin [batch, seq, head_dim] for one forward.</summary>
internal readonly record struct RotaryAngles(Tensor Cos, Tensor Sin)
{
    public Tensor Rotate(Tensor heads) => RotaryEmbedding.Apply(heads, Cos, Sin);
}

internal sealed class RotaryPositionEncoding : PositionEncoding
{
    private readonly RotaryEmbedding _rope;

    public RotaryPositionEncoding(RotaryEmbedding rope) => _rope = rope;

    public override RopeAngles? Angles(Tensor positions, ScalarType dtype)
    {
        var (cos, sin) = _rope.Angles(positions, dtype);
        var angles = new RotaryAngles(cos, sin);
        return new RopeAngles(angles, angles);
    }

    public override void Dispose() => _rope.Dispose();
}

internal sealed class LearnedPositionEncoding : PositionEncoding
{
    private readonly Tensor _table;
    private readonly int _maxPositions;

    public LearnedPositionEncoding(Tensor table, int maxPositions) => (_table, _maxPositions) = (table, maxPositions);

    public override Tensor Embed(Tensor embedded, Tensor positions)
    {
        if (positions.numel() > 0 && positions.max().item<long>() >= _maxPositions)
            throw new ArgumentException($"GPT-2 has {_maxPositions} positions (n_positions); the input needs {positions.max().item<long>() + 1}. Shorten the input.");
        return embedded + _table.index_select(0, positions.flatten()).view(positions.shape[0], positions.shape[1], _table.shape[1]);
    }
}
