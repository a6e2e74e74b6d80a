using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Models;
using Xunit;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Models;

/// <summary>Tiny llamas written with each rope type run a forward, read alike from both config layouts, and the rope
/// type changes the logits (so the scaling is applied, not dropped on the way from config.json to the layers).</summary>
public class RopeForwardTests
{
    public static IEnumerable<object[]> Variants => new[]
    {
        new object[] { "linear", 128, new RopeParameters { Type = "linear", Factor = 2 } },
        new object[] { "dynamic", 6, new RopeParameters { Type = "dynamic", Factor = 3 } },
        new object[] { "yarn", 128, new RopeParameters { Type = "yarn", Factor = 4, OriginalMaxPositions = 32, BetaFast = 8, BetaSlow = 1 } },
        new object[] { "longrope", 64, new RopeParameters { Type = "longrope", OriginalMaxPositions = 8,
            ShortFactor = new[] { 1.0, 1.0, 1.1, 1.3, 1.7, 2.2, 3.0, 4.0 }, LongFactor = new[] { 1.0, 1.2, 1.6, 2.5, 4.0, 6.0, 9.0, 12.0 } } },
        new object[] { "llama3", 128, new RopeParameters { Type = "llama3", Theta = 500000, Factor = 4, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositions = 16 } },
    };

    private static readonly long[] Sequence = { 3, 17, 42, 5, 99, 12, 64, 7, 120, 33 };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Each_rope_type_runs_reads_alike_from_both_layouts_and_changes_the_logits(string name, int maxPositions, RopeParameters rope)
    {
        using var scope = NewDisposeScope();
        var spec = new TinyModelSpec { ModelType = "llama", Seed = 21, MaxPositions = maxPositions, Rope = rope };
        Assert.Equal(TinyModels.Config(spec).Rope, TinyModels.Config(spec with { RopeParametersLayout = true }).Rope);
        Assert.Equal(rope, TinyModels.Config(spec).Rope);

        using var scaled = TinyModels.Build(spec);
        using var v5 = TinyModels.Build(spec with { RopeParametersLayout = true });
        using var plain = TinyModels.Build(spec with { Rope = null });
        using var a = scaled.Forward(TinyModels.Ids(Sequence));
        using var b = v5.Forward(TinyModels.Ids(Sequence));
        using var c = plain.Forward(TinyModels.Ids(Sequence));
        Assert.True(a.Logits.equal(b.Logits).all().item<bool>(), name);
        Assert.False(a.Logits.allclose(c.Logits, rtol: 0, atol: 1e-5), $"{name} gave the default rope's logits");
    }

    [Fact]
    public void Dynamic_rope_depends_on_the_current_forward_only()
    {
        // transformers keeps the grown frequencies of a long forward for later ones; this engine computes them from each
        // forward's own positions, so a short forward after a long one equals the same short forward on a fresh model.
        using var scope = NewDisposeScope();
        var spec = new TinyModelSpec { ModelType = "llama", Seed = 22, MaxPositions = 6, Rope = new RopeParameters { Type = "dynamic", Factor = 3 } };
        using var used = TinyModels.Build(spec);
        using var fresh = TinyModels.Build(spec);
        using var plain = TinyModels.Build(spec with { Rope = null });
        using var longer = used.Forward(TinyModels.Ids(Sequence));
        var shortIds = Sequence.Take(6).ToArray();
        using var after = used.Forward(TinyModels.Ids(shortIds));
        using var first = fresh.Forward(TinyModels.Ids(shortIds));
        using var unscaled = plain.Forward(TinyModels.Ids(shortIds));
        Assert.True(after.Logits.equal(first.Logits).all().item<bool>());
        // Six positions are within max_position_embeddings: no scaling at all.
        Assert.True(first.Logits.equal(unscaled.Logits).all().item<bool>());
        // Ten are past it: the first six positions then differ from the unscaled model's.
        Assert.False(longer.Logits.narrow(1, 0, 6).allclose(unscaled.Logits, rtol: 0, atol: 1e-5));
    }
}
