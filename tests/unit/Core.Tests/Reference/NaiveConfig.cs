using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;

namespace TrainableTokens.Core.Tests.Reference;

/// <summary>One RoPE flavour, as transformers' rope_parameters hold it after standardisation.</summary>
internal sealed record NaiveRope(
    string Type, double Theta, double PartialRotaryFactor, double? Factor, double? AttentionFactor,
    double? BetaFast, double? BetaSlow, double? Mscale, double? MscaleAllDim, bool Truncate,
    int OriginalMaxPositionEmbeddings, double LowFreqFactor, double HighFreqFactor,
    double[]? ShortFactor, double[]? LongFactor);

/// <summary>
/// config.json read the way transformers' configuration classes read it: each model_type's defaults for what
/// the file omits, layer_types derived as each family derives them, and rope_scaling (4.x) / rope_parameters (v5)
/// standardised per layer type. For model_type "gemma3" it reads text_config and locates the language-model
/// weights under either of the two prefixes checkpoints use.
/// </summary>
internal sealed class NaiveConfig
{
    public required string ModelType { get; init; }        // the architecture that runs: gemma3 folders run gemma3_text
    public required bool Multimodal { get; init; }           // a gemma3 (ForConditionalGeneration) folder
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int Layers { get; init; }
    public required int Heads { get; init; }
    public required int KvHeads { get; init; }
    public required int HeadDim { get; init; }
    public required string Activation { get; init; }
    public required double Eps { get; init; }
    public required bool TieWordEmbeddings { get; init; }
    public required bool QkvBias { get; init; }
    public required bool OutputBias { get; init; }
    public required bool MlpBias { get; init; }
    public required int MaxPositionEmbeddings { get; init; }
    public required double AttentionScaling { get; init; }   // multiplier of q.k
    public required double? AttnSoftcap { get; init; }
    public required double? FinalSoftcap { get; init; }
    public required string[] LayerTypes { get; init; }
    public required int? SlidingWindow { get; init; }
    public required bool[] UsesRope { get; init; }           // false on SmolLM3's NoPE layers and on GPT-2
    public required Dictionary<string, NaiveRope> Rope { get; init; } // by layer type
    public required bool EmbedScale { get; init; }           // Gemma family: embedding * sqrt(hidden)
    public bool Bidirectional { get; init; }                 // Gemma 3's use_bidirectional_attention
    // GPT-2 only
    public bool ScaleByInverseLayerIdx { get; init; }

    public static NaiveConfig Read(string folder)
    {
        var path = Path.Combine(folder, "config.json");
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var type = Str(root, "model_type") ?? throw new InvalidDataException($"{path}: no model_type");
        if (type == "gemma3")
        {
            var text = root["text_config"] as JsonObject ?? new JsonObject();
            return Parse("gemma3_text", text, multimodal: true, top: root);
        }
        return Parse(type, root, multimodal: false, top: root);
    }

    static NaiveConfig Parse(string type, JsonObject c, bool multimodal, JsonObject top)
    {
        if (type == "gpt2") return ParseGpt2(c);
        var d = Defaults.For(type);
        int hidden = Int(c, "hidden_size") ?? d.Hidden;
        int heads = Int(c, "num_attention_heads") ?? d.Heads;
        int kv = Int(c, "num_key_value_heads") ?? d.KvHeads ?? heads;
        int headDim = Int(c, "head_dim") ?? d.HeadDim ?? hidden / heads;
        int layers = Int(c, "num_hidden_layers") ?? d.Layers;
        int maxPos = Int(c, "max_position_embeddings") ?? d.MaxPos;
        bool attentionBias = Bool(c, "attention_bias") ?? false;
        string act = type.StartsWith("gemma", StringComparison.Ordinal)
            ? Str(c, "hidden_activation") ?? (type == "gemma" ? Str(c, "hidden_act") : null) ?? "gelu_pytorch_tanh"
            : Str(c, "hidden_act") ?? "silu";
        int? window = Int(c, "sliding_window") ?? (c.ContainsKey("sliding_window") ? null : d.SlidingWindow);
        var layerTypes = DeriveLayerTypes(type, c, layers, ref window);
        bool tie = Bool(c, "tie_word_embeddings") ?? (multimodal ? Bool(top, "tie_word_embeddings") : null) ?? d.Tie;
        double? qpas = Dbl(c, "query_pre_attn_scalar") ?? (type is "gemma2" or "gemma3_text" ? 256 : null);

        var usesRope = Enumerable.Repeat(true, layers).ToArray();
        if (type == "smollm3")
        {
            var noRope = NoRopeLayers(c, layers);
            for (int i = 0; i < layers; i++) usesRope[i] = noRope[i] != 0;
        }
        return new NaiveConfig
        {
            ModelType = type,
            Multimodal = multimodal,
            VocabSize = Int(c, "vocab_size") ?? d.Vocab,
            HiddenSize = hidden,
            IntermediateSize = Int(c, "intermediate_size") ?? d.Intermediate,
            Layers = layers,
            Heads = heads,
            KvHeads = kv,
            HeadDim = headDim,
            Activation = act,
            Eps = Dbl(c, "rms_norm_eps") ?? d.Eps,
            TieWordEmbeddings = tie,
            QkvBias = type == "qwen2" || (type != "mistral" && type != "phi3" && attentionBias),
            OutputBias = type != "qwen2" && type != "mistral" && type != "phi3" && attentionBias,
            MlpBias = type is "llama" or "smollm3" && (Bool(c, "mlp_bias") ?? false),
            MaxPositionEmbeddings = maxPos,
            AttentionScaling = qpas is double q ? Math.Pow(q, -0.5) : Math.Pow(headDim, -0.5),
            AttnSoftcap = Dbl(c, "attn_logit_softcapping") ?? (c.ContainsKey("attn_logit_softcapping") ? null : d.AttnSoftcap),
            FinalSoftcap = Dbl(c, "final_logit_softcapping") ?? (c.ContainsKey("final_logit_softcapping") ? null : d.FinalSoftcap),
            LayerTypes = layerTypes,
            SlidingWindow = window,
            UsesRope = usesRope,
            Rope = RopeByLayerType(type, c, layerTypes, maxPos, d),
            EmbedScale = type.StartsWith("gemma", StringComparison.Ordinal),
            Bidirectional = type == "gemma3_text" && (Bool(c, "use_bidirectional_attention") ?? false),
        };
    }

    static NaiveConfig ParseGpt2(JsonObject c)
    {
        int hidden = Int(c, "n_embd") ?? 768, heads = Int(c, "n_head") ?? 12, layers = Int(c, "n_layer") ?? 12;
        int headDim = hidden / heads;
        bool scale = Bool(c, "scale_attn_weights") ?? true;
        return new NaiveConfig
        {
            ModelType = "gpt2", Multimodal = false,
            VocabSize = Int(c, "vocab_size") ?? 50257, HiddenSize = hidden,
            IntermediateSize = Int(c, "n_inner") ?? 4 * hidden, Layers = layers, Heads = heads, KvHeads = heads, HeadDim = headDim,
            Activation = Str(c, "activation_function") ?? "gelu_new", Eps = Dbl(c, "layer_norm_epsilon") ?? 1e-5,
            TieWordEmbeddings = Bool(c, "tie_word_embeddings") ?? true, QkvBias = true, OutputBias = true, MlpBias = true,
            MaxPositionEmbeddings = Int(c, "n_positions") ?? 1024,
            AttentionScaling = scale ? 1.0 / Math.Sqrt(headDim) : 1.0,
            AttnSoftcap = null, FinalSoftcap = null,
            LayerTypes = Enumerable.Repeat("full_attention", layers).ToArray(), SlidingWindow = null,
            UsesRope = new bool[layers], Rope = new Dictionary<string, NaiveRope>(), EmbedScale = false,
            ScaleByInverseLayerIdx = Bool(c, "scale_attn_by_inverse_layer_idx") ?? false,
        };
    }

    static string[] DeriveLayerTypes(string type, JsonObject c, int layers, ref int? window)
    {
        // Qwen drops the window entirely unless use_sliding_window is set, even where layer_types says sliding.
        if (type is "qwen2" or "qwen3" && !(Bool(c, "use_sliding_window") ?? false)) window = null;
        if (c["layer_types"] is JsonArray explicitTypes)
        {
            var given = explicitTypes.Select(n => n!.GetValue<string>()).ToArray();
            if (given.Length != layers) throw new InvalidDataException($"config.json: layer_types has {given.Length} entries for {layers} layers");
            return given;
        }
        var types = new string[layers];
        for (int i = 0; i < layers; i++)
        {
            bool sliding = type switch
            {
                "gemma2" => i % 2 == 0,
                "gemma3_text" => (i + 1) % (Int(c, "sliding_window_pattern") ?? Int(c, "_sliding_window_pattern") ?? 6) != 0,
                "qwen2" or "qwen3" => (Bool(c, "use_sliding_window") ?? false) && window != null && i >= (Int(c, "max_window_layers") ?? 28),
                "smollm3" => (Bool(c, "use_sliding_window") ?? false) && window != null && NoRopeLayers(c, layers)[i] == 0,
                "mistral" or "phi3" => window != null,
                _ => false,
            };
            types[i] = sliding ? "sliding_attention" : "full_attention";
        }
        return types;
    }

    static int[] NoRopeLayers(JsonObject c, int layers)
    {
        if (c["no_rope_layers"] is JsonArray given) return given.Select(n => n!.GetValue<int>()).ToArray();
        int interval = Int(c, "no_rope_layer_interval") ?? 4;
        return Enumerable.Range(0, layers).Select(i => (i + 1) % interval != 0 ? 1 : 0).ToArray();
    }

    static Dictionary<string, NaiveRope> RopeByLayerType(string type, JsonObject c, string[] layerTypes, int maxPos, Defaults d)
    {
        double topTheta = Dbl(c, "rope_theta") ?? d.Theta;
        double? topPartial = Dbl(c, "partial_rotary_factor") ?? (type == "phi3" ? 1.0 : null);
        int? topOriginal = Int(c, "original_max_position_embeddings") ?? (type == "phi3" ? 4096 : null);
        var result = new Dictionary<string, NaiveRope>();
        if (type == "gemma3_text")
        {
            // Gemma 3: rope_parameters nested by layer type (v5), else default rope on both; a 4.x rope_scaling is merged
            // into the global (full_attention) entry; bases default to rope_theta and rope_local_base_freq.
            var nestedParams = c["rope_parameters"] as JsonObject;
            var full = (nestedParams?["full_attention"] as JsonObject)?.DeepClone().AsObject() ?? new JsonObject();
            if (c["rope_scaling"] is JsonObject scaling)
                foreach (var (k, v) in scaling) full[k] = v?.DeepClone();
            var local = nestedParams?["sliding_attention"] as JsonObject;
            foreach (var layerType in layerTypes.Distinct())
                result[layerType] = layerType == "sliding_attention"
                    ? OneRope(local, Dbl(c, "rope_local_base_freq") ?? 10_000.0, topPartial, topOriginal, maxPos, type)
                    : OneRope(full, topTheta, topPartial, topOriginal, maxPos, type);
            return result;
        }
        // transformers 5 takes rope_scaling when a (4.x) file has it, else rope_parameters.
        var raw = (c["rope_scaling"] as JsonObject) ?? (c["rope_parameters"] as JsonObject);
        bool nested = raw != null && raw.Count > 0 && raw.All(p => layerTypes.Contains(p.Key));
        foreach (var layerType in layerTypes.Distinct())
            result[layerType] = OneRope(nested ? raw![layerType] as JsonObject : raw, topTheta, topPartial, topOriginal, maxPos, type);
        return result;
    }

    static NaiveRope OneRope(JsonObject? p, double theta, double? topPartial, int? topOriginal, int maxPos, string modelType)
    {
        string ropeType = (p == null ? null : Str(p, "rope_type") ?? Str(p, "type")) ?? "default";
        if (ropeType == "su") ropeType = "longrope"; // Phi-3's early name
        if (ropeType is not ("default" or "linear" or "dynamic" or "yarn" or "longrope" or "llama3"))
            throw new NotSupportedException($"rope type {ropeType}: the reference knows default, linear, dynamic, yarn, longrope and llama3");
        double partial = (p == null ? null : Dbl(p, "partial_rotary_factor")) ?? topPartial ?? 1.0;
        // Only Phi-3's rotary embedding and apply_rotary_pos_emb honour partial_rotary_factor among these families.
        if (modelType != "phi3") partial = 1.0;
        int original = topOriginal ?? (p == null ? null : Int(p, "original_max_position_embeddings")) ?? maxPos;
        return new NaiveRope(
            ropeType, (p == null ? null : Dbl(p, "rope_theta")) ?? theta, partial,
            p == null ? null : Dbl(p, "factor"), p == null ? null : Dbl(p, "attention_factor"),
            p == null ? null : Dbl(p, "beta_fast"), p == null ? null : Dbl(p, "beta_slow"),
            p == null ? null : Dbl(p, "mscale"), p == null ? null : Dbl(p, "mscale_all_dim"),
            (p == null ? null : Bool(p, "truncate")) ?? true, original,
            (p == null ? null : Dbl(p, "low_freq_factor")) ?? 1.0, (p == null ? null : Dbl(p, "high_freq_factor")) ?? 4.0,
            p?["short_factor"] is JsonArray s ? s.Select(n => n!.GetValue<double>()).ToArray() : null,
            p?["long_factor"] is JsonArray l ? l.Select(n => n!.GetValue<double>()).ToArray() : null);
    }

    /// <summary>Defaults of each configuration_&lt;type&gt;.py for the fields a file may omit.</summary>
    sealed record Defaults(int Vocab, int Hidden, int Intermediate, int Layers, int Heads, int? KvHeads, int? HeadDim,
        int MaxPos, double Eps, bool Tie, double Theta, int? SlidingWindow, double? AttnSoftcap, double? FinalSoftcap)
    {
        public static Defaults For(string type) => type switch
        {
            "llama" => new(32000, 4096, 11008, 32, 32, null, null, 2048, 1e-6, false, 10_000, null, null, null),
            "mistral" => new(32000, 4096, 14336, 32, 32, 8, null, 4096 * 32, 1e-6, false, 10_000, 4096, null, null),
            "qwen2" => new(151936, 4096, 22016, 32, 32, 32, null, 32768, 1e-6, false, 10_000, 4096, null, null),
            "qwen3" => new(151936, 4096, 22016, 32, 32, 32, 128, 32768, 1e-6, false, 10_000, 4096, null, null),
            "gemma" => new(256000, 3072, 24576, 28, 16, 16, 256, 8192, 1e-6, true, 10_000, null, null, null),
            "gemma2" => new(256000, 2304, 9216, 26, 8, 4, 256, 8192, 1e-6, true, 10_000, 4096, 50.0, 30.0),
            "gemma3_text" => new(262208, 2304, 9216, 26, 8, 4, 256, 131072, 1e-6, true, 1_000_000, 4096, null, null),
            "phi3" => new(32064, 3072, 8192, 32, 32, null, null, 4096, 1e-5, false, 10_000, null, null, null),
            "smollm3" => new(128256, 2048, 11008, 36, 16, 4, null, 32768, 1e-6, true, 2_000_000, null, null, null),
            "olmo2" => new(50304, 4096, 11008, 32, 32, null, null, 2048, 1e-5, false, 10_000, null, null, null),
            _ => throw new NotSupportedException($"model_type {type}: the reference knows llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text, gemma3, phi3, smollm3, olmo2 and gpt2"),
        };
    }

    static string? Str(JsonObject o, string k) => o[k] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
    static int? Int(JsonObject o, string k) => o[k] is JsonValue v ? (v.TryGetValue<int>(out var i) ? i : v.TryGetValue<double>(out var x) ? (int)x : null) : null;
    static double? Dbl(JsonObject o, string k) => o[k] is JsonValue v && v.TryGetValue<double>(out var x) ? x : null;
    static bool? Bool(JsonObject o, string k) => o[k] is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;
}
