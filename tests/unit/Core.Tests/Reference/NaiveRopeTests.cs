using System;
using System.Linq;
using System.Text.Json.Nodes;
using TrainableTokens.Core.Tests.IO;

namespace TrainableTokens.Core.Tests.Reference;

/// <summary>The rope variants of modeling_rope_utils.py, and the 4.x rope_scaling and v5 rope_parameters layouts.</summary>
public sealed class NaiveRopeTests
{
    static readonly int[] Ids = { 5, 12, 74, 9, 15, 111, 7, 80, 82, 92, 3, 64 };

    static NaiveRope Rope(string json, double theta = 10_000, int maxPos = 128)
    {
        using var temp = new TempFolder();
        HfTinyFolder.Write(temp.Path, "llama", c => { c["rope_theta"] = theta; c["max_position_embeddings"] = maxPos; c["rope_scaling"] = JsonNode.Parse(json); });
        return NaiveConfig.Read(temp.Path).Rope["full_attention"];
    }

    [Fact]
    public void Yarn_attention_factor_is_0_1_ln_factor_plus_1_unless_given()
    {
        var f = NaiveRopeTables.Compute(Rope("""{"rope_type":"yarn","factor":4.0,"original_max_position_embeddings":32}"""), 16, 128, 10);
        Assert.Equal(0.1 * Math.Log(4) + 1, f.AttentionFactor, 15);
        Assert.Equal(1.1386294361119891, f.AttentionFactor, 15);
        var given = NaiveRopeTables.Compute(Rope("""{"rope_type":"yarn","factor":4.0,"attention_factor":0.75,"original_max_position_embeddings":32}"""), 16, 128, 10);
        Assert.Equal(0.75, given.AttentionFactor);
        // DeepSeek-style mscale / mscale_all_dim: the ratio of the two mscales.
        var ratio = NaiveRopeTables.Compute(Rope("""{"rope_type":"yarn","factor":4.0,"mscale":2.0,"mscale_all_dim":1.0,"original_max_position_embeddings":32}"""), 16, 128, 10);
        Assert.Equal((0.2 * Math.Log(4) + 1) / (0.1 * Math.Log(4) + 1), ratio.AttentionFactor, 15);
        // No factor: the ratio of max_position_embeddings to the original.
        var implicitFactor = NaiveRopeTables.Compute(Rope("""{"rope_type":"yarn","original_max_position_embeddings":32}"""), 16, 128, 10);
        Assert.Equal(0.1 * Math.Log(4) + 1, implicitFactor.AttentionFactor, 15);
        // The factor scales cos and sin: at position 0 cos is the attention factor (as a float32).
        var (cos, sin) = NaiveRopeTables.Tables(f, 3, Precision.Float32);
        Assert.Equal((float)f.AttentionFactor, cos[0, 0]);
        Assert.Equal(0, sin[0, 3]);
    }

    [Fact]
    public void Yarn_keeps_high_frequencies_and_divides_low_ones_by_the_factor()
    {
        var plain = NaiveRopeTables.Compute(Rope("""{"rope_type":"default"}"""), 64, 128, 10);
        var yarn = NaiveRopeTables.Compute(Rope("""{"rope_type":"yarn","factor":8.0,"original_max_position_embeddings":64}"""), 64, 128, 10);
        Assert.Equal(plain.InvFreq[0], yarn.InvFreq[0]);
        Assert.Equal(plain.InvFreq[^1] / 8, yarn.InvFreq[^1], 12);
        Assert.Contains(Enumerable.Range(0, 32), i => yarn.InvFreq[i] < plain.InvFreq[i] && yarn.InvFreq[i] > plain.InvFreq[i] / 8 * 1.0001);
    }

    [Fact]
    public void Linear_scaling_at_position_2p_is_default_rope_at_p()
    {
        var plain = NaiveRopeTables.Tables(NaiveRopeTables.Compute(Rope("""{"rope_type":"default"}"""), 16, 128, 12), 12, Precision.Float32);
        // The 4.x key "type" still names the rope type.
        var linear = NaiveRopeTables.Tables(NaiveRopeTables.Compute(Rope("""{"type":"linear","factor":2.0}"""), 16, 128, 12), 12, Precision.Float32);
        for (int p = 0; p < 6; p++)
            for (int i = 0; i < 8; i++) Assert.Equal(plain.Cos[p, i], linear.Cos[2 * p, i]);
    }

    [Fact]
    public void Dynamic_ntk_is_default_rope_until_the_sequence_outgrows_max_position_embeddings()
    {
        using var dynamic = new TempFolder();
        using var plain = new TempFolder();
        HfTinyFolder.Write(dynamic.Path, "llama", c => { c["max_position_embeddings"] = 8; c["rope_scaling"] = JsonNode.Parse("""{"rope_type":"dynamic","factor":2.0}"""); });
        HfTinyFolder.Write(plain.Path, "llama", c => c["max_position_embeddings"] = 8);
        var eight = Ids.Take(8).ToArray();
        Assert.Equal(0, NaiveArchitectureTests.MaxDiff(NaiveDecoder.Forward(dynamic.Path, eight).Logits, NaiveDecoder.Forward(plain.Path, eight).Logits));
        Assert.True(NaiveArchitectureTests.MaxDiff(NaiveDecoder.Forward(dynamic.Path, Ids).Logits, NaiveDecoder.Forward(plain.Path, Ids).Logits) > 1e-4);
        // base * (factor * seq / max - (factor - 1)) ^ (dim / (dim - 2)) at 12 tokens.
        var f = NaiveRopeTables.Compute(Rope("""{"rope_type":"dynamic","factor":2.0}""", maxPos: 8), 16, 8, 12);
        double b = 10_000 * Math.Pow(2.0 * 12 / 8 - 1, 16.0 / 14);
        Assert.Equal((float)(1 / Math.Pow(b, 2.0 / 16)), f.InvFreq[1], 6);
    }

    [Fact]
    public void Longrope_switches_to_long_factors_past_the_original_length_and_scales_by_sqrt_of_1_plus_ln_ratio()
    {
        string json = """{"rope_type":"longrope","short_factor":[1,1,1,1,1,1,1,1],"long_factor":[2,2,2,2,2,2,2,2],"original_max_position_embeddings":8}""";
        var rope = Rope(json, maxPos: 32);
        var shortRun = NaiveRopeTables.Compute(rope, 16, 32, 8);
        var longRun = NaiveRopeTables.Compute(rope, 16, 32, 9);
        Assert.Equal(shortRun.InvFreq[3] / 2, longRun.InvFreq[3], 12);
        Assert.Equal(Math.Sqrt(1 + Math.Log(4) / Math.Log(8)), shortRun.AttentionFactor, 15);
        Assert.Equal(shortRun.AttentionFactor, longRun.AttentionFactor);
        Assert.Equal(1.0, NaiveRopeTables.Compute(Rope(json, maxPos: 8), 16, 8, 8).AttentionFactor);
    }

    [Fact]
    public void Phi3_top_level_original_max_position_embeddings_wins_over_the_rope_dict()
    {
        using var temp = new TempFolder();
        HfTinyFolder.Write(temp.Path, "phi3", c =>
        {
            c["max_position_embeddings"] = 64;
            c["original_max_position_embeddings"] = 16;
            c["rope_scaling"] = JsonNode.Parse("""{"type":"longrope","short_factor":[1,1,1,1,1,1,1,1],"long_factor":[3,3,3,3,3,3,3,3],"original_max_position_embeddings":4}""");
        });
        var rope = NaiveConfig.Read(temp.Path).Rope["full_attention"];
        Assert.Equal(("longrope", 16), (rope.Type, rope.OriginalMaxPositionEmbeddings));
        Assert.Equal(Math.Sqrt(1 + Math.Log(4) / Math.Log(16)), NaiveRopeTables.Compute(rope, 16, 64, 10).AttentionFactor, 15);
        var (logits, _) = NaiveDecoder.Forward(temp.Path, Ids);
        Assert.All(logits.Cast<double>(), v => Assert.True(double.IsFinite(v)));
    }

    [Fact]
    public void Llama3_keeps_high_frequencies_and_divides_the_lowest_by_the_factor()
    {
        var plain = NaiveRopeTables.Compute(Rope("""{"rope_type":"default"}""", theta: 500_000), 64, 128, 10);
        var llama3 = NaiveRopeTables.Compute(Rope("""{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":64}""", theta: 500_000), 64, 128, 10);
        Assert.Equal(plain.InvFreq[0], llama3.InvFreq[0]);
        Assert.Equal((float)(plain.InvFreq[^1] / 8), llama3.InvFreq[^1]);
    }

    [Theory]
    [InlineData("""{"rope_type":"yarn","factor":4.0,"original_max_position_embeddings":32}""", """{"rope_type":"yarn","factor":4.0,"original_max_position_embeddings":32,"rope_theta":20000.0}""")]
    [InlineData("""{"rope_type":"linear","factor":2.0}""", """{"rope_type":"linear","factor":2.0,"rope_theta":20000.0}""")]
    [InlineData("""{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":16}""", """{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":16,"rope_theta":20000.0}""")]
    public void The_4x_rope_scaling_layout_and_the_v5_rope_parameters_layout_agree(string v4Scaling, string v5Parameters)
    {
        using var v4 = new TempFolder();
        using var v5 = new TempFolder();
        using var plain = new TempFolder();
        HfTinyFolder.Write(v4.Path, "qwen3", c => { c["rope_theta"] = 20000.0; c["rope_scaling"] = JsonNode.Parse(v4Scaling); });
        HfTinyFolder.Write(v5.Path, "qwen3", c => { c.Remove("rope_theta"); c["rope_parameters"] = JsonNode.Parse(v5Parameters); });
        HfTinyFolder.Write(plain.Path, "qwen3", c => c["rope_theta"] = 20000.0);
        var (a, _) = NaiveDecoder.Forward(v4.Path, Ids);
        Assert.Equal(0, NaiveArchitectureTests.MaxDiff(a, NaiveDecoder.Forward(v5.Path, Ids).Logits));
        Assert.True(NaiveArchitectureTests.MaxDiff(a, NaiveDecoder.Forward(plain.Path, Ids).Logits) > 1e-5);
    }

    [Fact]
    public void Partial_rotary_factor_may_sit_beside_the_rope_dict_or_inside_it()
    {
        using var top = new TempFolder();
        using var inside = new TempFolder();
        HfTinyFolder.Write(top.Path, "phi3", c => c["partial_rotary_factor"] = 0.75);
        HfTinyFolder.Write(inside.Path, "phi3", c => { c.Remove("partial_rotary_factor"); c["rope_parameters"] = JsonNode.Parse("""{"rope_type":"default","rope_theta":10000.0,"partial_rotary_factor":0.75}"""); });
        Assert.Equal(12, NaiveRopeTables.Compute(NaiveConfig.Read(inside.Path).Rope["full_attention"], 16, 128, 4).RotaryDim);
        Assert.Equal(0, NaiveArchitectureTests.MaxDiff(NaiveDecoder.Forward(top.Path, Ids).Logits, NaiveDecoder.Forward(inside.Path, Ids).Logits));
    }
}
