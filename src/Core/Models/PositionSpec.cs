using System.Collections.Generic;
using System.Linq;

namespace TrainableTokens.Core.Models;

/// <summary>How a model knows where a token is.</summary>
public abstract record PositionSpec
{
    public abstract IEnumerable<WeightShape> WeightShapes(ModelConfig c);

    internal abstract PositionEncoding Build(DecoderParts parts);
}

/// <summary>Rotary embeddings on q and k (rotate-half layout), with the rope of config.json (and a second one for
/// sliding-window layers when the config has one).</summary>
public sealed record RotaryPositions : PositionSpec
{
    public override IEnumerable<WeightShape> WeightShapes(ModelConfig c) => Enumerable.Empty<WeightShape>();

    internal override PositionEncoding Build(DecoderParts parts)
    {
        var c = parts.Config;
        RotaryEmbedding Of(RopeParameters rope) => new(c.HeadDim, rope, c.MaxPositions, parts.Device, c.PartialRotaryFactor);
        var full = Of(c.Rope);
        try
        {
            return new RotaryPositionEncoding(full, c.SlidingRope is { } sliding ? Of(sliding) : null);
        }
        catch
        {
            full.Dispose();
            throw;
        }
    }
}

/// <summary>A learned table of position vectors added to the embedding output (GPT-2's wpe).</summary>
public sealed record LearnedPositions(string Table) : PositionSpec
{
    public override IEnumerable<WeightShape> WeightShapes(ModelConfig c)
    {
        yield return new(Table + ".weight", new[] { (long)c.MaxPositions, c.HiddenSize }, WeightKind.Embedding);
    }

    internal override PositionEncoding Build(DecoderParts parts) => new LearnedPositionEncoding(parts.Weight(Table + ".weight"), parts.Config.MaxPositions);
}
