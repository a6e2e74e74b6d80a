using System;
using System.Collections.Generic;
using System.Linq;

namespace TrainableTokens.Core.Tests.Reference;

/// <summary>
/// An independent reference forward pass, written from transformers' Python source (modeling_&lt;type&gt;.py,
/// modeling_rope_utils.py, masking_utils.py) and nothing of Core: plain loops over doubles.
///
/// <code>
/// var (logits, hidden) = NaiveDecoder.Forward(folder, new[] { 5, 12, 74 }, "float32");
/// // logits: [tokens, vocab]; hidden: as output_hidden_states gives them, each [tokens, hidden_size]:
/// // hidden[0] the embedding output, hidden[i] the output of layer i, hidden[^1] the last layer after the final norm.
/// </code>
///
/// Batch 1, positions 0..n-1, no padding. Model types: llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text,
/// gemma3 (its text part), phi3, smollm3, olmo2, gpt2; rope types default, linear, dynamic, llama3, yarn, longrope.
/// dtype "float32" computes in double; "bfloat16"/"float16" also round where torch holds a value in that dtype
/// (within a bf16 ulp or two of transformers per value, not bit-exact). Attention keeps SDPA's float32 scores,
/// except where the config has attn_logit_softcapping (Gemma 2): there it is eager attention with the cap, which is
/// what transformers computes only with attn_implementation="eager" (its default SDPA ignores the cap).
/// Tiny folders to run it on: <see cref="HfTinyFolder"/>. Config semantics: <see cref="NaiveConfig"/>.
/// </summary>
internal static class NaiveDecoder
{
    public static (double[,] Logits, List<double[,]> Hidden) Forward(string folder, int[] inputIds, string dtype = "float32")
    {
        var config = NaiveConfig.Read(folder);
        var weights = NaiveWeights.Load(folder, config, new Precision(dtype));
        return Forward(config, weights, inputIds);
    }

    public static (double[,] Logits, List<double[,]> Hidden) Forward(string folder, long[] inputIds, string dtype = "float32") =>
        Forward(folder, Array.ConvertAll(inputIds, i => checked((int)i)), dtype);

    public static (double[,] Logits, List<double[,]> Hidden) Forward(NaiveConfig c, NaiveWeights w, int[] ids)
    {
        var p = w.Precision;
        int n = ids.Length, h = c.HiddenSize;
        foreach (var id in ids)
            if (id < 0 || id >= w.Embedding.Rows) throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is outside the vocabulary of {w.Embedding.Rows}");
        var hidden = new List<double[,]>();
        var x = new double[n * h];
        // Gemma: the scale is a tensor of the model dtype (sqrt(3072) = 55.4256 becomes 55.5 in bfloat16).
        double scale = c.EmbedScale ? p.R(Precision.F32(Math.Sqrt(h))) : 1.0;
        for (int t = 0; t < n; t++)
            for (int j = 0; j < h; j++)
            {
                double e = w.Embedding.Values[(long)ids[t] * h + j];
                if (c.ModelType == "gpt2") e = p.R(e + w.Get("wpe.weight").Values[t * h + j]);
                else if (c.EmbedScale) e = p.R(e * scale);
                x[t * h + j] = e;
            }
        hidden.Add(ToMatrix(x, n, h));

        var ropeTables = new Dictionary<string, (double[,] Cos, double[,] Sin, int Dim)>();
        // OLMo 2 keeps cos/sin in float32 and rotates in float32, rounding once; the others cast cos/sin to the dtype.
        bool ropeInFloat32 = c.ModelType == "olmo2";
        foreach (var (layerType, rope) in c.Rope)
        {
            var f = NaiveRopeTables.Compute(rope, c.HeadDim, c.MaxPositionEmbeddings, n);
            var (cos, sin) = NaiveRopeTables.Tables(f, n, ropeInFloat32 ? Precision.Float32 : p);
            ropeTables[layerType] = (cos, sin, f.RotaryDim);
        }

        for (int l = 0; l < c.Layers; l++)
        {
            x = c.ModelType == "gpt2" ? Gpt2Layer(c, w, x, n, l) : DecoderLayer(c, w, x, n, l, ropeTables);
            if (l < c.Layers - 1) hidden.Add(ToMatrix(x, n, h));
        }
        x = c.ModelType == "gpt2" ? LayerNorm(x, n, h, w.Get("ln_f.weight"), w.Get("ln_f.bias"), c.Eps, p) : Norm(c, w, "norm", x, n, h);
        hidden.Add(ToMatrix(x, n, h));

        var logits = Linear(x, n, h, w.LmHead, null, p);
        if (c.FinalSoftcap is double cap && !c.Multimodal) // Gemma3ForConditionalGeneration does not cap its logits
            for (int i = 0; i < logits.Length; i++) logits[i] = p.R(p.R(Math.Tanh(p.R(logits[i] / cap))) * cap);
        return (ToMatrix(logits, n, w.LmHead.Rows), hidden);
    }

    static double[] DecoderLayer(NaiveConfig c, NaiveWeights w, double[] x, int n, int l,
        Dictionary<string, (double[,] Cos, double[,] Sin, int Dim)> rope)
    {
        var p = w.Precision;
        int h = c.HiddenSize;
        string at = $"layers.{l}.";
        if (c.ModelType == "olmo2")
        {
            // OLMo 2 normalises the outputs of attention and MLP, not their inputs.
            var a = Norm(c, w, at + "post_attention_layernorm", Attention(c, w, x, n, l, rope), n, h);
            x = Add(x, a, p);
            var m = Norm(c, w, at + "post_feedforward_layernorm", Mlp(c, w, x, n, l), n, h);
            return Add(x, m, p);
        }
        bool sandwich = c.ModelType is "gemma2" or "gemma3_text";
        var attn = Attention(c, w, Norm(c, w, at + "input_layernorm", x, n, h), n, l, rope);
        if (sandwich) attn = Norm(c, w, at + "post_attention_layernorm", attn, n, h);
        x = Add(x, attn, p);
        var mlpIn = Norm(c, w, at + (sandwich ? "pre_feedforward_layernorm" : "post_attention_layernorm"), x, n, h);
        var mlp = Mlp(c, w, mlpIn, n, l);
        if (sandwich) mlp = Norm(c, w, at + "post_feedforward_layernorm", mlp, n, h);
        return Add(x, mlp, p);
    }

    static double[] Attention(NaiveConfig c, NaiveWeights w, double[] x, int n, int l,
        Dictionary<string, (double[,] Cos, double[,] Sin, int Dim)> rope)
    {
        var p = w.Precision;
        int h = c.HiddenSize, hd = c.HeadDim, nq = c.Heads * hd, nkv = c.KvHeads * hd;
        string at = $"layers.{l}.self_attn.";
        double[] q, k, v;
        if (c.ModelType == "phi3")
        {
            // One fused projection, rows in the order q, k, v.
            var qkv = Linear(x, n, h, w.Get(at + "qkv_proj.weight"), null, p);
            q = Columns(qkv, n, nq + 2 * nkv, 0, nq);
            k = Columns(qkv, n, nq + 2 * nkv, nq, nkv);
            v = Columns(qkv, n, nq + 2 * nkv, nq + nkv, nkv);
        }
        else
        {
            q = Linear(x, n, h, w.Get(at + "q_proj.weight"), c.QkvBias ? w.Get(at + "q_proj.bias") : null, p);
            k = Linear(x, n, h, w.Get(at + "k_proj.weight"), c.QkvBias ? w.Get(at + "k_proj.bias") : null, p);
            v = Linear(x, n, h, w.Get(at + "v_proj.weight"), c.QkvBias ? w.Get(at + "v_proj.bias") : null, p);
        }
        if (c.ModelType == "olmo2")
        {
            // Over the whole projection, before it is split into heads.
            q = Norm(c, w, at + "q_norm", q, n, nq);
            k = Norm(c, w, at + "k_norm", k, n, nkv);
        }
        else if (c.ModelType is "qwen3" or "gemma3_text")
        {
            // Per head, over head_dim, after the projection and before RoPE.
            q = Norm(c, w, at + "q_norm", q, n * c.Heads, hd);
            k = Norm(c, w, at + "k_norm", k, n * c.KvHeads, hd);
        }
        string layerType = c.LayerTypes[l];
        if (c.UsesRope[l])
        {
            var (cos, sin, dim) = rope[layerType];
            bool once = c.ModelType == "olmo2";
            Rotate(q, n, c.Heads, hd, cos, sin, dim, p, once);
            Rotate(k, n, c.KvHeads, hd, cos, sin, dim, p, once);
            if (once) { RoundRotated(q, p); RoundRotated(k, p); }
        }
        var output = Attend(c, q, k, v, n, l, layerType, p);
        return Linear(output, n, nq, w.Get(at + "o_proj.weight"), c.OutputBias ? w.Get(at + "o_proj.bias") : null, p);
    }

    /// <summary>rotate_half RoPE on the first <paramref name="dim"/> dims of each head; the rest pass through (partial rotary).</summary>
    static void Rotate(double[] x, int n, int heads, int hd, double[,] cos, double[,] sin, int dim, Precision p, bool roundOnce)
    {
        if (roundOnce) p = Precision.Float32; // the products and sums stay in float32 ...
        int half = dim / 2;
        for (int t = 0; t < n; t++)
            for (int head = 0; head < heads; head++)
            {
                int b = (t * heads + head) * hd;
                for (int i = 0; i < half; i++)
                {
                    double x1 = x[b + i], x2 = x[b + i + half], cs = cos[t, i], sn = sin[t, i];
                    x[b + i] = p.R(p.R(x1 * cs) + p.R(-x2 * sn));
                    x[b + i + half] = p.R(p.R(x2 * cs) + p.R(x1 * sn));
                }
            }
    }

    static void RoundRotated(double[] x, Precision p) => p.RoundAll(x); // ... and are cast back to the dtype once

    static double[] Attend(NaiveConfig c, double[] q, double[] k, double[] v, int n, int l, string layerType, Precision p)
    {
        int hd = c.HeadDim, groups = c.Heads / c.KvHeads;
        int? window = layerType == "sliding_attention" ? c.SlidingWindow : null;
        // transformers' default SDPA keeps scores and probabilities in float32 (on CPU) and rounds only its output;
        // eager, which Gemma 2 needs for its attention soft-cap, rounds the scores and the probabilities to the dtype.
        bool eager = c.AttnSoftcap != null;
        double scaling = c.AttentionScaling / (c.ScaleByInverseLayerIdx ? l + 1 : 1);
        var output = new double[n * c.Heads * hd];
        var scores = new double[n];
        for (int head = 0; head < c.Heads; head++)
        {
            int kvHead = head / groups;
            for (int i = 0; i < n; i++)
            {
                // masking_utils: causal, and within the window a key at j is seen from i when i - j < sliding_window.
                int first = window is int wnd ? Math.Max(0, i - wnd + 1) : 0;
                int last = i;
                if (c.Bidirectional)
                {
                    // Gemma 3 with use_bidirectional_attention: every key, or within the window both ways (|i - j| < window).
                    last = window is int w2 ? Math.Min(n - 1, i + w2 - 1) : n - 1;
                }
                double max = double.NegativeInfinity;
                for (int j = first; j <= last; j++)
                {
                    double s = 0;
                    int qb = (i * c.Heads + head) * hd, kb = (j * c.KvHeads + kvHead) * hd;
                    for (int d = 0; d < hd; d++) s += q[qb + d] * k[kb + d];
                    s = eager ? p.R(p.R(s) * scaling) : s * scaling;
                    if (c.AttnSoftcap is double cap) s = p.R(p.R(Math.Tanh(p.R(s / cap))) * cap);
                    scores[j] = s;
                    max = Math.Max(max, s);
                }
                double sum = 0;
                for (int j = first; j <= last; j++) { scores[j] = Math.Exp(scores[j] - max); sum += scores[j]; }
                int ob = (i * c.Heads + head) * hd;
                for (int j = first; j <= last; j++)
                {
                    double prob = eager ? p.R(scores[j] / sum) : scores[j] / sum;
                    int vb = (j * c.KvHeads + kvHead) * hd;
                    for (int d = 0; d < hd; d++) output[ob + d] += prob * v[vb + d];
                }
            }
        }
        p.RoundAll(output);
        return output;
    }

    static double[] Mlp(NaiveConfig c, NaiveWeights w, double[] x, int n, int l)
    {
        var p = w.Precision;
        int h = c.HiddenSize, inter = c.IntermediateSize;
        string at = $"layers.{l}.mlp.";
        double[] gate, up;
        if (c.ModelType == "phi3")
        {
            // gate_up_proj: the first half of its outputs is the gate, the second half up.
            var gu = Linear(x, n, h, w.Get(at + "gate_up_proj.weight"), null, p);
            gate = Columns(gu, n, 2 * inter, 0, inter);
            up = Columns(gu, n, 2 * inter, inter, inter);
        }
        else
        {
            gate = Linear(x, n, h, w.Get(at + "gate_proj.weight"), c.MlpBias ? w.Get(at + "gate_proj.bias") : null, p);
            up = Linear(x, n, h, w.Get(at + "up_proj.weight"), c.MlpBias ? w.Get(at + "up_proj.bias") : null, p);
        }
        var act = new double[gate.Length];
        for (int i = 0; i < act.Length; i++) act[i] = p.R(p.R(NaiveActivations.Apply(c.Activation, gate[i])) * up[i]);
        return Linear(act, n, inter, w.Get(at + "down_proj.weight"), c.MlpBias ? w.Get(at + "down_proj.bias") : null, p);
    }

    static double[] Gpt2Layer(NaiveConfig c, NaiveWeights w, double[] x, int n, int l)
    {
        var p = w.Precision;
        int h = c.HiddenSize, hd = c.HeadDim;
        string at = $"h.{l}.";
        var ln1 = LayerNorm(x, n, h, w.Get(at + "ln_1.weight"), w.Get(at + "ln_1.bias"), c.Eps, p);
        // Conv1D: weight is [in, out], y = x W + b.
        var qkv = Conv1D(ln1, n, h, w.Get(at + "attn.c_attn.weight"), w.Get(at + "attn.c_attn.bias"), p);
        var q = Columns(qkv, n, 3 * h, 0, h);
        var k = Columns(qkv, n, 3 * h, h, h);
        var v = Columns(qkv, n, 3 * h, 2 * h, h);
        var attn = Attend(c, q, k, v, n, l, "full_attention", p);
        x = Add(x, Conv1D(attn, n, h, w.Get(at + "attn.c_proj.weight"), w.Get(at + "attn.c_proj.bias"), p), p);
        var ln2 = LayerNorm(x, n, h, w.Get(at + "ln_2.weight"), w.Get(at + "ln_2.bias"), c.Eps, p);
        var fc = Conv1D(ln2, n, h, w.Get(at + "mlp.c_fc.weight"), w.Get(at + "mlp.c_fc.bias"), p);
        for (int i = 0; i < fc.Length; i++) fc[i] = p.R(NaiveActivations.Apply(c.Activation, fc[i]));
        return Add(x, Conv1D(fc, n, c.IntermediateSize, w.Get(at + "mlp.c_proj.weight"), w.Get(at + "mlp.c_proj.bias"), p), p);
    }

    /// <summary>
    /// RMSNorm over rows of width <paramref name="width"/>, in float32 then cast, the three ways transformers writes it:
    /// Llama (cast, then times weight), Gemma (times 1 + weight, then cast), OLMo 2 (times weight, then cast).
    /// </summary>
    static double[] Norm(NaiveConfig c, NaiveWeights w, string name, double[] x, int rows, int width)
    {
        var p = w.Precision;
        var weight = w.Get(name + ".weight").Values;
        bool gemma = c.ModelType.StartsWith("gemma", StringComparison.Ordinal), olmo = c.ModelType == "olmo2";
        var y = new double[x.Length];
        for (int r = 0; r < rows; r++)
        {
            double ss = 0;
            for (int j = 0; j < width; j++) ss += x[r * width + j] * x[r * width + j];
            double inv = 1.0 / Math.Sqrt(ss / width + c.Eps);
            for (int j = 0; j < width; j++)
            {
                double normed = x[r * width + j] * inv;
                y[r * width + j] = gemma ? p.R(normed * (1.0 + weight[j]))
                    : olmo ? p.R(normed * weight[j])
                    : p.R(p.R(normed) * weight[j]);
            }
        }
        return y;
    }

    static double[] LayerNorm(double[] x, int n, int h, NaiveTensor weight, NaiveTensor bias, double eps, Precision p)
    {
        var y = new double[x.Length];
        for (int t = 0; t < n; t++)
        {
            double mean = 0, variance = 0;
            for (int j = 0; j < h; j++) mean += x[t * h + j];
            mean /= h;
            for (int j = 0; j < h; j++) variance += (x[t * h + j] - mean) * (x[t * h + j] - mean);
            variance /= h; // biased, as torch's layer_norm
            double inv = 1.0 / Math.Sqrt(variance + eps);
            for (int j = 0; j < h; j++) y[t * h + j] = p.R((x[t * h + j] - mean) * inv * weight.Values[j] + bias.Values[j]);
        }
        return y;
    }

    /// <summary>nn.Linear: weight [out, in], y = x W^T + b.</summary>
    static double[] Linear(double[] x, int n, int inWidth, NaiveTensor weight, NaiveTensor? bias, Precision p)
    {
        int outWidth = weight.Rows;
        if (weight.Cols != inWidth) throw new ArgumentException($"a weight of shape [{string.Join(", ", weight.Shape)}] cannot take inputs of width {inWidth}");
        var y = new double[n * outWidth];
        var wv = weight.Values;
        for (int t = 0; t < n; t++)
            for (int o = 0; o < outWidth; o++)
            {
                double s = bias?.Values[o] ?? 0;
                int xb = t * inWidth, wb = o * inWidth;
                for (int i = 0; i < inWidth; i++) s += x[xb + i] * wv[wb + i];
                y[t * outWidth + o] = p.R(s);
            }
        return y;
    }

    static double[] Conv1D(double[] x, int n, int inWidth, NaiveTensor weight, NaiveTensor bias, Precision p)
    {
        int outWidth = weight.Cols;
        var y = new double[n * outWidth];
        for (int t = 0; t < n; t++)
            for (int o = 0; o < outWidth; o++)
            {
                double s = bias.Values[o];
                for (int i = 0; i < inWidth; i++) s += x[t * inWidth + i] * weight.Values[i * outWidth + o];
                y[t * outWidth + o] = p.R(s);
            }
        return y;
    }

    static double[] Columns(double[] x, int n, int width, int start, int count)
    {
        var y = new double[n * count];
        for (int t = 0; t < n; t++) Array.Copy(x, t * width + start, y, t * count, count);
        return y;
    }

    static double[] Add(double[] a, double[] b, Precision p)
    {
        var y = new double[a.Length];
        for (int i = 0; i < y.Length; i++) y[i] = p.R(a[i] + b[i]);
        return y;
    }

    static double[,] ToMatrix(double[] x, int rows, int cols)
    {
        var m = new double[rows, cols];
        Buffer.BlockCopy(x, 0, m, 0, rows * cols * sizeof(double));
        return m;
    }
}
