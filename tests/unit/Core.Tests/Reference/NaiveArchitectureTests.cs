using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using TrainableTokens.Core.Tests.IO;

namespace TrainableTokens.Core.Tests.Reference;

/// <summary>
/// Properties of the architectures transformers has not recorded for us yet (qwen3, gemma2, gemma3_text, gemma3,
/// phi3, smollm3, olmo2): each is a claim about transformers' code that a wrong reference would break.
/// </summary>
public sealed class NaiveArchitectureTests
{
    static readonly int[] Ids = { 5, 12, 74, 9, 15, 111, 7, 80, 82, 92, 3, 64 };

    public static IEnumerable<object[]> Types => new[] { "llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "gemma3", "phi3", "smollm3", "olmo2", "gpt2" }.Select(t => new object[] { t });

    [Theory]
    [MemberData(nameof(Types))]
    public void Every_type_gives_finite_logits_and_one_hidden_state_per_layer_plus_one(string type)
    {
        using var temp = new TempFolder();
        var (logits, hidden) = NaiveDecoder.Forward(HfTinyFolder.Write(temp.Path, type), Ids);
        Assert.Equal(new[] { Ids.Length, 128 }, new[] { logits.GetLength(0), logits.GetLength(1) });
        Assert.Equal(3, hidden.Count);
        Assert.All(logits.Cast<double>(), v => Assert.True(double.IsFinite(v)));
        // Causal: the first position's logits do not depend on later tokens.
        var (other, _) = NaiveDecoder.Forward(temp.Path, Ids.Take(1).Concat(Ids.Skip(1).Reverse()).ToArray());
        for (int v = 0; v < 128; v++) Assert.Equal(logits[0, v], other[0, v], 12);
    }

    [Fact]
    public void Gemma2_final_softcap_is_cap_times_tanh_of_the_uncapped_logits_and_bounds_them()
    {
        using var a = new TempFolder();
        using var b = new TempFolder();
        var (capped, _) = NaiveDecoder.Forward(HfTinyFolder.Write(a.Path, "gemma2", c => c["final_logit_softcapping"] = 0.5), Ids);
        var (raw, _) = NaiveDecoder.Forward(HfTinyFolder.Write(b.Path, "gemma2", c => c["final_logit_softcapping"] = null), Ids);
        Assert.Contains(raw.Cast<double>(), v => Math.Abs(v) > 0.5);
        for (int t = 0; t < Ids.Length; t++)
            for (int v = 0; v < 128; v++)
            {
                Assert.True(Math.Abs(capped[t, v]) < 0.5);
                Assert.Equal(0.5 * Math.Tanh(raw[t, v] / 0.5), capped[t, v], 12);
            }
    }

    [Fact]
    public void Gemma2_attention_softcap_changes_the_output_and_a_huge_cap_is_none()
    {
        using var a = new TempFolder();
        using var b = new TempFolder();
        using var d = new TempFolder();
        var (small, _) = NaiveDecoder.Forward(HfTinyFolder.Write(a.Path, "gemma2", c => { c["attn_logit_softcapping"] = 0.1; c["final_logit_softcapping"] = null; }), Ids);
        var (none, _) = NaiveDecoder.Forward(HfTinyFolder.Write(b.Path, "gemma2", c => { c["attn_logit_softcapping"] = null; c["final_logit_softcapping"] = null; }), Ids);
        var (huge, _) = NaiveDecoder.Forward(HfTinyFolder.Write(d.Path, "gemma2", c => { c["attn_logit_softcapping"] = 1e9; c["final_logit_softcapping"] = null; }), Ids);
        Assert.True(MaxDiff(small, none) > 1e-3);
        Assert.True(MaxDiff(huge, none) < 1e-9);
    }

    [Fact]
    public void A_layer_without_rope_sees_positions_only_through_causality()
    {
        // One SmolLM3 layer without RoPE: its last position's output cannot tell the order of the tokens before it.
        using var nope = new TempFolder();
        using var rope = new TempFolder();
        HfTinyFolder.Write(nope.Path, "smollm3", c => { c["num_hidden_layers"] = 1; c["no_rope_layers"] = new JsonArray(0); });
        HfTinyFolder.Write(rope.Path, "smollm3", c => { c["num_hidden_layers"] = 1; c["no_rope_layers"] = new JsonArray(1); });
        var swapped = (int[])Ids.Clone();
        (swapped[0], swapped[3]) = (swapped[3], swapped[0]);
        Assert.True(LastRowDiff(nope.Path, Ids, swapped) < 1e-12);
        Assert.True(LastRowDiff(rope.Path, Ids, swapped) > 1e-4);
    }

    [Fact]
    public void SmolLM3_no_rope_layer_interval_drops_rope_on_every_nth_layer()
    {
        using var interval = new TempFolder();
        using var list = new TempFolder();
        HfTinyFolder.Write(interval.Path, "smollm3", c => c["no_rope_layer_interval"] = 2);
        HfTinyFolder.Write(list.Path, "smollm3", c => { c.Remove("no_rope_layer_interval"); c["no_rope_layers"] = new JsonArray(1, 0); });
        Assert.Equal(new[] { true, false }, NaiveConfig.Read(interval.Path).UsesRope);
        Assert.Equal(0, MaxDiff(NaiveDecoder.Forward(interval.Path, Ids).Logits, NaiveDecoder.Forward(list.Path, Ids).Logits));
    }

    [Fact]
    public void Phi3_fused_projections_split_as_q_k_v_and_gate_then_up()
    {
        // The same weights as a Llama folder with separate projections must give the same logits.
        using var phi = new TempFolder();
        using var llama = new TempFolder();
        HfTinyFolder.Write(phi.Path, "phi3", c => c["rms_norm_eps"] = 1e-6);
        var fused = NaiveSafetensors.ReadFile(Path.Combine(phi.Path, "model.safetensors"));
        HfTinyFolder.Write(llama.Path, "llama", c => c.Remove("head_dim"));
        var split = new Dictionary<string, NaiveTensor>();
        int h = 64, nq = 64, nkv = 32, inter = 128;
        foreach (var (name, t) in fused)
        {
            if (name.EndsWith("qkv_proj.weight", StringComparison.Ordinal))
            {
                string at = name[..^"qkv_proj.weight".Length];
                split[at + "q_proj.weight"] = Rows(t, 0, nq, h);
                split[at + "k_proj.weight"] = Rows(t, nq, nkv, h);
                split[at + "v_proj.weight"] = Rows(t, nq + nkv, nkv, h);
            }
            else if (name.EndsWith("gate_up_proj.weight", StringComparison.Ordinal))
            {
                string at = name[..^"gate_up_proj.weight".Length];
                split[at + "gate_proj.weight"] = Rows(t, 0, inter, h);
                split[at + "up_proj.weight"] = Rows(t, inter, inter, h);
            }
            else split[name] = t;
        }
        NaiveSafetensors.Write(Path.Combine(llama.Path, "model.safetensors"), split);
        Assert.True(MaxDiff(NaiveDecoder.Forward(phi.Path, Ids).Logits, NaiveDecoder.Forward(llama.Path, Ids).Logits) < 1e-12);
    }

    [Fact]
    public void Phi3_partial_rotary_leaves_the_other_dims_of_each_head_alone()
    {
        // With partial_rotary_factor 0.5 and all of q/k living in the pass-through half, positions cannot matter.
        using var partial = new TempFolder();
        HfTinyFolder.Write(partial.Path, "phi3", c => { c["partial_rotary_factor"] = 0.5; c["num_hidden_layers"] = 1; });
        var config = NaiveConfig.Read(partial.Path);
        Assert.Equal(8, NaiveRopeTables.Compute(config.Rope["full_attention"], config.HeadDim, 128, Ids.Length).RotaryDim);
        var w = NaiveSafetensors.ReadFile(Path.Combine(partial.Path, "model.safetensors"));
        foreach (var (name, t) in w.Where(kv => kv.Key.EndsWith("qkv_proj.weight", StringComparison.Ordinal)).ToList())
            for (int row = 0; row < 64 + 32; row++) // q and k rows: zero the rotated half of every head
                if (row % 16 < 8) for (int col = 0; col < 64; col++) t.Values[row * 64 + col] = 0;
        NaiveSafetensors.Write(Path.Combine(partial.Path, "model.safetensors"), w);
        var swapped = (int[])Ids.Clone();
        (swapped[1], swapped[4]) = (swapped[4], swapped[1]);
        Assert.True(LastRowDiff(partial.Path, Ids, swapped) < 1e-12);
    }

    [Theory]
    [InlineData(HfTinyFolder.HubGemma3Prefix)]
    [InlineData(HfTinyFolder.V5Gemma3Prefix)]
    public void A_gemma3_folder_runs_its_text_part_as_gemma3_text_whichever_prefix_it_uses(string prefix)
    {
        using var multimodal = new TempFolder();
        using var text = new TempFolder();
        HfTinyFolder.Write(multimodal.Path, "gemma3", seed: 3, gemma3Prefix: prefix);
        HfTinyFolder.Write(text.Path, "gemma3_text", seed: 3);
        // Same seed, same order of draws: the text weights are equal; the vision tensor comes last and is ignored.
        Assert.Contains(HfTinyFolder.VisionTensor, NaiveSafetensors.ReadFile(Path.Combine(multimodal.Path, "model.safetensors")).Keys);
        var (m, mh) = NaiveDecoder.Forward(multimodal.Path, Ids);
        var (t, th) = NaiveDecoder.Forward(text.Path, Ids);
        Assert.Equal(0, MaxDiff(m, t));
        Assert.Equal(0, MaxDiff(mh[0], th[0]));
    }

    [Fact]
    public void Gemma3ForConditionalGeneration_does_not_softcap_its_logits_but_Gemma3ForCausalLM_does()
    {
        using var multimodal = new TempFolder();
        using var text = new TempFolder();
        HfTinyFolder.Write(multimodal.Path, "gemma3", c => c["text_config"]!["final_logit_softcapping"] = 0.5);
        HfTinyFolder.Write(text.Path, "gemma3_text", c => c["final_logit_softcapping"] = 0.5);
        Assert.Contains(NaiveDecoder.Forward(multimodal.Path, Ids).Logits.Cast<double>(), v => Math.Abs(v) > 0.5);
        Assert.All(NaiveDecoder.Forward(text.Path, Ids).Logits.Cast<double>(), v => Assert.True(Math.Abs(v) < 0.5));
    }

    [Fact]
    public void Gemma3_local_layers_use_rope_local_base_freq_and_global_layers_rope_theta()
    {
        using var a = new TempFolder();
        using var b = new TempFolder();
        using var d = new TempFolder();
        using var e = new TempFolder();
        // Only a sliding layer (layer 0 of the pattern-2 base) reads rope_local_base_freq ...
        HfTinyFolder.Write(a.Path, "gemma3_text", c => c["rope_local_base_freq"] = 100.0);
        HfTinyFolder.Write(b.Path, "gemma3_text", c => c["rope_local_base_freq"] = 10_000.0);
        Assert.True(MaxDiff(NaiveDecoder.Forward(a.Path, Ids).Logits, NaiveDecoder.Forward(b.Path, Ids).Logits) > 1e-4);
        // ... so with every layer global it changes nothing, while rope_theta does.
        HfTinyFolder.Write(d.Path, "gemma3_text", c => { c["rope_local_base_freq"] = 100.0; c["sliding_window_pattern"] = 1; });
        HfTinyFolder.Write(e.Path, "gemma3_text", c => { c["rope_local_base_freq"] = 10_000.0; c["sliding_window_pattern"] = 1; });
        Assert.Equal(0, MaxDiff(NaiveDecoder.Forward(d.Path, Ids).Logits, NaiveDecoder.Forward(e.Path, Ids).Logits));
        Assert.Equal(new[] { "sliding_attention", "full_attention" }, NaiveConfig.Read(a.Path).LayerTypes);
        Assert.Equal(new[] { "full_attention", "full_attention" }, NaiveConfig.Read(d.Path).LayerTypes);
    }

    [Fact]
    public void Gemma3_rope_in_the_4x_layout_and_the_v5_per_layer_type_layout_agree()
    {
        using var v4 = new TempFolder();
        using var v5 = new TempFolder();
        HfTinyFolder.Write(v4.Path, "gemma3_text", c =>
        {
            c["rope_theta"] = 500_000.0;
            c["rope_local_base_freq"] = 5_000.0;
            c["rope_scaling"] = JsonNode.Parse("""{"rope_type":"linear","factor":8.0}""");
        });
        HfTinyFolder.Write(v5.Path, "gemma3_text", c =>
        {
            c.Remove("rope_theta");
            c.Remove("rope_local_base_freq");
            c["rope_parameters"] = JsonNode.Parse("""
                {"full_attention":{"rope_type":"linear","factor":8.0,"rope_theta":500000.0},
                 "sliding_attention":{"rope_type":"default","rope_theta":5000.0}}
                """);
        });
        var rope = NaiveConfig.Read(v5.Path).Rope;
        Assert.Equal(("linear", 500_000.0), (rope["full_attention"].Type, rope["full_attention"].Theta));
        Assert.Equal(("default", 5_000.0), (rope["sliding_attention"].Type, rope["sliding_attention"].Theta));
        Assert.Equal(0, MaxDiff(NaiveDecoder.Forward(v4.Path, Ids).Logits, NaiveDecoder.Forward(v5.Path, Ids).Logits));
    }

    [Fact]
    public void Gemma3_bidirectional_attention_sees_later_tokens_within_the_window_on_local_layers()
    {
        using var temp = new TempFolder();
        // Two local layers, window 4: position 0 sees positions 0..3 in each, so 0..6 in all, and nothing past that.
        HfTinyFolder.Write(temp.Path, "gemma3_text", c => { c["use_bidirectional_attention"] = true; c["sliding_window_pattern"] = 1000; });
        var (logits, _) = NaiveDecoder.Forward(temp.Path, Ids);
        var farChange = (int[])Ids.Clone();
        farChange[7] = 1;
        var nearChange = (int[])Ids.Clone();
        nearChange[3] = 1;
        var (far, _) = NaiveDecoder.Forward(temp.Path, farChange);
        var (near, _) = NaiveDecoder.Forward(temp.Path, nearChange);
        for (int v = 0; v < 128; v++) Assert.Equal(logits[0, v], far[0, v], 12);
        Assert.True(Enumerable.Range(0, 128).Max(v => Math.Abs(logits[0, v] - near[0, v])) > 1e-4);
    }

    [Fact]
    public void Gemma2_and_gemma3_default_layer_types_alternate_and_follow_the_pattern()
    {
        using var g2 = new TempFolder();
        using var g3 = new TempFolder();
        HfTinyFolder.Write(g2.Path, "gemma2", c => c["num_hidden_layers"] = 4);
        HfTinyFolder.Write(g3.Path, "gemma3_text", c => { c["num_hidden_layers"] = 7; c.Remove("sliding_window_pattern"); });
        Assert.Equal(new[] { "sliding_attention", "full_attention", "sliding_attention", "full_attention" }, NaiveConfig.Read(g2.Path).LayerTypes);
        Assert.Equal(Enumerable.Repeat("sliding_attention", 5).Append("full_attention").Append("sliding_attention"), NaiveConfig.Read(g3.Path).LayerTypes);
    }

    [Fact]
    public void Qwen3_sliding_layers_slide_only_with_use_sliding_window()
    {
        using var off = new TempFolder();
        using var full = new TempFolder();
        using var on = new TempFolder();
        HfTinyFolder.Write(off.Path, "qwen3", c => { c["sliding_window"] = 3; c["use_sliding_window"] = false; c["layer_types"] = new JsonArray("sliding_attention", "sliding_attention"); });
        HfTinyFolder.Write(full.Path, "qwen3", c => { c["sliding_window"] = 3; c["use_sliding_window"] = false; });
        HfTinyFolder.Write(on.Path, "qwen3", c => { c["sliding_window"] = 3; c["use_sliding_window"] = true; c["max_window_layers"] = 1; });
        Assert.Equal(new[] { "full_attention", "sliding_attention" }, NaiveConfig.Read(on.Path).LayerTypes);
        Assert.Equal(0, MaxDiff(NaiveDecoder.Forward(off.Path, Ids).Logits, NaiveDecoder.Forward(full.Path, Ids).Logits));
        var (windowed, _) = NaiveDecoder.Forward(on.Path, Ids);
        var (unwindowed, _) = NaiveDecoder.Forward(full.Path, Ids);
        // The first three positions see the same keys either way; later ones do not.
        for (int t = 0; t < 3; t++) for (int v = 0; v < 128; v++) Assert.Equal(unwindowed[t, v], windowed[t, v], 12);
        Assert.True(MaxDiff(windowed, unwindowed) > 1e-4);
    }

    [Theory]
    [InlineData("qwen3", 16, true)]       // per head: scaling head 0's rows of q_proj changes nothing
    [InlineData("gemma3_text", 16, true)]
    [InlineData("olmo2", 16, false)]      // over the whole projection: scaling one head shifts the others' share
    [InlineData("olmo2", 64, true)]       // ... while scaling all of it changes nothing
    public void Qwen3_and_gemma3_normalise_q_per_head_and_olmo2_over_the_whole_projection(string type, int rows, bool invariant)
    {
        using var temp = new TempFolder();
        // A negligible epsilon, so that RMSNorm is exactly invariant to scale.
        HfTinyFolder.Write(temp.Path, type, c => c["rms_norm_eps"] = 1e-30);
        var file = Path.Combine(temp.Path, "model.safetensors");
        var w = NaiveSafetensors.ReadFile(file);
        Assert.Equal(new long[] { type == "olmo2" ? 64 : 16 }, w["model.layers.0.self_attn.q_norm.weight"].Shape);
        Assert.Equal(type != "olmo2", w.ContainsKey("model.layers.0.input_layernorm.weight"));
        var (before, _) = NaiveDecoder.Forward(temp.Path, Ids);
        var q = w["model.layers.0.self_attn.q_proj.weight"];
        var values = (double[])q.Values.Clone();
        for (int row = 0; row < rows; row++) for (int col = 0; col < 64; col++) values[row * 64 + col] *= 4; // exact in binary
        w["model.layers.0.self_attn.q_proj.weight"] = q with { Values = values };
        NaiveSafetensors.Write(file, w);
        double diff = MaxDiff(before, NaiveDecoder.Forward(temp.Path, Ids).Logits);
        Assert.True(invariant ? diff < 1e-9 : diff > 1e-4, $"{type}: logits moved by {diff:E3}");
    }

    [Fact]
    public void Gemma_embedding_scale_is_held_in_the_model_dtype()
    {
        // sqrt(3072) = 55.4256 becomes 55.5 in bfloat16: the embedding output is row * 55.5, rounded.
        using var temp = new TempFolder();
        HfTinyFolder.Write(temp.Path, "gemma", c =>
        {
            c["hidden_size"] = 3072; c["intermediate_size"] = 8; c["num_hidden_layers"] = 1; c["vocab_size"] = 8;
            c["num_attention_heads"] = 1; c["num_key_value_heads"] = 1; c["head_dim"] = 8;
        }, storedDtype: "BF16");
        var embedding = NaiveSafetensors.ReadFile(Path.Combine(temp.Path, "model.safetensors"))["model.embed_tokens.weight"];
        var bf16 = NaiveDecoder.Forward(temp.Path, new[] { 3 }, "bfloat16").Hidden[0];
        var f32 = NaiveDecoder.Forward(temp.Path, new[] { 3 }, "float32").Hidden[0];
        for (int j = 0; j < 3072; j++)
        {
            double row = embedding.Values[3 * 3072 + j];
            Assert.Equal(Precision.ToBFloat16Float(row * 55.5), bf16[0, j]);
            Assert.Equal(row * (float)Math.Sqrt(3072), f32[0, j]);
        }
    }

    static NaiveTensor Rows(NaiveTensor t, int start, int count, int cols)
    {
        var v = new double[count * cols];
        Array.Copy(t.Values, start * cols, v, 0, v.Length);
        return new NaiveTensor(new long[] { count, cols }, t.Dtype, v);
    }

    static double LastRowDiff(string folder, int[] a, int[] b)
    {
        var (x, _) = NaiveDecoder.Forward(folder, a);
        var (y, _) = NaiveDecoder.Forward(folder, b);
        int last = a.Length - 1;
        return Enumerable.Range(0, x.GetLength(1)).Max(v => Math.Abs(x[last, v] - y[last, v]));
    }

    internal static double MaxDiff(double[,] a, double[,] b)
    {
        Assert.Equal(a.Length, b.Length);
        double max = 0;
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++) max = Math.Max(max, Math.Abs(a[i, j] - b[i, j]));
        return max;
    }
}
