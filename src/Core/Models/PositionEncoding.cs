using System;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>The runtime side of a <see cref="PositionSpec"/>: what it adds to the embedding output, and the rotary angles
/// the attention layers apply (computed once per forward).</summary>
internal abstract class PositionEncoding : IDisposable
{
    /// <param name="positionCount">The largest position plus one, known on the host, so no forward reads it back from the device.</param>
    public virtual Tensor Embed(Tensor embedded, Tensor positions, long positionCount) => embedded;

    /// <summary>The rotary angles of this forward for each kind of layer, or null for a model without rotary embeddings.</summary>
    public virtual RopeAngles? Angles(Tensor positions, ScalarType dtype, long positionCount) => null;

    public virtual void Dispose()
    {
    }
}

/// <summary>cos and sin [batch, seq, rotary dims] for one forward; narrower than a head with a partial rotary factor.</summary>
internal readonly record struct RotaryAngles(Tensor Cos, Tensor Sin)
{
    public Tensor Rotate(Tensor heads) => RotaryEmbedding.Apply(heads, Cos, Sin);
}

/// <summary>One forward's angles for full-attention layers and for sliding-window layers (Gemma 3's local rope); the
/// same angles when the model has one rope.</summary>
internal readonly record struct RopeAngles(RotaryAngles Full, RotaryAngles Sliding)
{
    public RotaryAngles For(bool sliding) => sliding ? Sliding : Full;
}

internal sealed class RotaryPositionEncoding : PositionEncoding
{
    private readonly RotaryEmbedding _full;
    private readonly RotaryEmbedding? _sliding;

    /// <param name="sliding">The sliding layers' rope, or null when they use <paramref name="full"/>.</param>
    public RotaryPositionEncoding(RotaryEmbedding full, RotaryEmbedding? sliding) => (_full, _sliding) = (full, sliding);

    public override RopeAngles? Angles(Tensor positions, ScalarType dtype, long positionCount)
    {
        var full = Of(_full);
        return new RopeAngles(full, _sliding is null ? full : Of(_sliding));

        RotaryAngles Of(RotaryEmbedding rope)
        {
            var (cos, sin) = rope.Angles(positions, dtype, positionCount);
            return new RotaryAngles(cos, sin);
        }
    }

    public override void Dispose()
    {
        _full.Dispose();
        _sliding?.Dispose();
    }
}

internal sealed class LearnedPositionEncoding : PositionEncoding
{
    private readonly Tensor _table;
    private readonly int _maxPositions;

    public LearnedPositionEncoding(Tensor table, int maxPositions) => (_table, _maxPositions) = (table, maxPositions);

    public override Tensor Embed(Tensor embedded, Tensor positions, long positionCount)
    {
        if (positionCount > _maxPositions)
            throw new ArgumentException($"GPT-2 has {_maxPositions} positions (n_positions); the input needs {positionCount}. Shorten the input.");
        return embedded + _table.index_select(0, positions.flatten()).view(positions.shape[0], positions.shape[1], _table.shape[1]);
    }
}
