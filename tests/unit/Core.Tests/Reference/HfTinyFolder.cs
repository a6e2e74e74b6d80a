using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrainableTokens.Core.Tests.Reference;

/// <summary>
/// Tiny Hugging Face folders (config.json + model.safetensors in HF naming, seeded random weights) for every model
/// type the reference knows, written without Core, so the engine and the reference can both be run on them.
///
/// <code>
/// var folder = HfTinyFolder.Write(dir, "qwen3", c => c["rope_scaling"] = JsonNode.Parse("""{"rope_type":"yarn","factor":4.0}"""));
/// var (logits, hidden) = NaiveDecoder.Forward(folder, ids, "float32");
/// </code>
/// Configs: hidden 64, 4 heads of 16 (2 key/value heads), intermediate 128, 2 layers, vocab 128, 128 positions; see
/// <see cref="BaseConfig"/> for each type's extras. A "gemma3" folder nests a gemma3_text config under text_config,
/// stores its text weights under <paramref name="gemma3Prefix"/> and adds a vision-tower tensor the decoder must ignore.
/// </summary>
internal static class HfTinyFolder
{
    public const string HubGemma3Prefix = "language_model.model.";
    public const string V5Gemma3Prefix = "model.language_model.";
    public const string VisionTensor = "vision_tower.vision_model.embeddings.patch_embedding.weight";

    /// <summary>Writes the folder (created if missing) and returns it.</summary>
    public static string Write(string folder, string modelType, Action<JsonObject>? configure = null, int seed = 0,
        string storedDtype = "F32", string gemma3Prefix = HubGemma3Prefix)
    {
        Directory.CreateDirectory(folder);
        var config = BaseConfig(modelType);
        configure?.Invoke(config);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        var parsed = NaiveConfig.Read(folder);
        var weights = RandomWeights(parsed, seed, storedDtype, gemma3Prefix);
        NaiveSafetensors.Write(Path.Combine(folder, "model.safetensors"), weights);
        return folder;
    }

    public static JsonObject BaseConfig(string modelType)
    {
        var c = new JsonObject
        {
            ["model_type"] = modelType,
            ["vocab_size"] = 128,
            ["hidden_size"] = 64,
            ["intermediate_size"] = 128,
            ["num_hidden_layers"] = 2,
            ["num_attention_heads"] = 4,
            ["num_key_value_heads"] = 2,
            ["head_dim"] = 16,
            ["max_position_embeddings"] = 128,
            ["rms_norm_eps"] = 1e-6,
            ["rope_theta"] = 10000.0,
            ["tie_word_embeddings"] = false,
            ["hidden_act"] = "silu",
            ["torch_dtype"] = "float32",
        };
        switch (modelType)
        {
            case "gpt2":
                return new JsonObject
                {
                    ["model_type"] = "gpt2", ["vocab_size"] = 128, ["n_embd"] = 64, ["n_head"] = 4, ["n_layer"] = 2, ["n_inner"] = 128,
                    ["n_positions"] = 128, ["activation_function"] = "gelu_new", ["layer_norm_epsilon"] = 1e-5, ["tie_word_embeddings"] = true,
                };
            case "qwen2":
                c.Remove("head_dim");
                c["use_sliding_window"] = false;
                break;
            case "mistral":
                c["sliding_window"] = null;
                break;
            case "gemma":
                c["hidden_activation"] = "gelu_pytorch_tanh";
                c["tie_word_embeddings"] = true;
                break;
            case "gemma2":
                c["hidden_activation"] = "gelu_pytorch_tanh";
                c["tie_word_embeddings"] = true;
                c["query_pre_attn_scalar"] = 16;
                c["sliding_window"] = 4;
                c["attn_logit_softcapping"] = 50.0;
                c["final_logit_softcapping"] = 30.0;
                break;
            case "gemma3_text":
                c["hidden_activation"] = "gelu_pytorch_tanh";
                c["tie_word_embeddings"] = true;
                c["query_pre_attn_scalar"] = 16;
                c["sliding_window"] = 4;
                c["sliding_window_pattern"] = 2; // layer 0 local, layer 1 global
                c["rope_theta"] = 1_000_000.0;
                c["rope_local_base_freq"] = 10_000.0;
                break;
            case "gemma3":
                var text = BaseConfig("gemma3_text");
                return new JsonObject
                {
                    ["model_type"] = "gemma3",
                    ["architectures"] = new JsonArray("Gemma3ForConditionalGeneration"),
                    ["text_config"] = text,
                    ["vision_config"] = new JsonObject { ["model_type"] = "siglip_vision_model", ["hidden_size"] = 16, ["patch_size"] = 4, ["image_size"] = 16 },
                    ["image_token_index"] = 127,
                };
            case "phi3":
                c.Remove("head_dim");
                c["original_max_position_embeddings"] = 128;
                c["partial_rotary_factor"] = 1.0;
                break;
            case "smollm3":
                c["no_rope_layer_interval"] = 2; // layer 1 has no RoPE
                break;
            case "qwen3": case "olmo2": case "llama":
                break;
            default:
                throw new ArgumentException($"HfTinyFolder has no base config for {modelType}");
        }
        return c;
    }

    /// <summary>
    /// Seeded normal weights of every tensor the config needs, named as transformers saves them. Heads and GPT-2's wte draw
    /// with std 1/sqrt(hidden), so logits are of order 1 and the bf16 tolerance (absolute) stays meaningful.
    /// </summary>
    public static Dictionary<string, NaiveTensor> RandomWeights(NaiveConfig c, int seed, string storedDtype = "F32", string gemma3Prefix = HubGemma3Prefix)
    {
        var rng = new Random(seed);
        var tensors = new Dictionary<string, NaiveTensor>(StringComparer.Ordinal);
        int h = c.HiddenSize, hd = c.HeadDim, nq = c.Heads * hd, nkv = c.KvHeads * hd, inter = c.IntermediateSize;
        bool gemma = c.ModelType.StartsWith("gemma", StringComparison.Ordinal);
        void Add(string name, double std, double mean, params long[] shape)
        {
            var values = new double[shape.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < values.Length; i++) values[i] = mean + std * Normal(rng);
            tensors[name] = new NaiveTensor(shape, storedDtype, values);
        }
        void Norm(string name, long width) => Add(name, 0.1, gemma ? 0.0 : 1.0, width);
        double ws = 1.0 / Math.Sqrt(h);

        if (c.ModelType == "gpt2")
        {
            string g = "transformer.";
            Add(g + "wte.weight", ws, 0, c.VocabSize, h);
            Add(g + "wpe.weight", 0.1, 0, c.MaxPositionEmbeddings, h);
            for (int l = 0; l < c.Layers; l++)
            {
                string at = $"{g}h.{l}.";
                foreach (var ln in new[] { "ln_1", "ln_2" }) { Add(at + ln + ".weight", 0.1, 1, h); Add(at + ln + ".bias", 0.1, 0, h); }
                Add(at + "attn.c_attn.weight", ws, 0, h, 3 * h); Add(at + "attn.c_attn.bias", 0.02, 0, 3 * h);
                Add(at + "attn.c_proj.weight", ws, 0, h, h); Add(at + "attn.c_proj.bias", 0.02, 0, h);
                Add(at + "mlp.c_fc.weight", ws, 0, h, inter); Add(at + "mlp.c_fc.bias", 0.02, 0, inter);
                Add(at + "mlp.c_proj.weight", 1.0 / Math.Sqrt(inter), 0, inter, h); Add(at + "mlp.c_proj.bias", 0.02, 0, h);
            }
            Add(g + "ln_f.weight", 0.1, 1, h); Add(g + "ln_f.bias", 0.1, 0, h);
            if (!c.TieWordEmbeddings) Add("lm_head.weight", ws, 0, c.VocabSize, h);
            return tensors;
        }

        string prefix = c.Multimodal ? gemma3Prefix : "model.";
        Add(prefix + "embed_tokens.weight", gemma ? 0.1 : 0.5, 0, c.VocabSize, h);
        for (int l = 0; l < c.Layers; l++)
        {
            string at = $"{prefix}layers.{l}.";
            if (c.ModelType == "phi3")
            {
                Add(at + "self_attn.qkv_proj.weight", ws, 0, nq + 2 * nkv, h);
                Add(at + "mlp.gate_up_proj.weight", ws, 0, 2 * inter, h);
            }
            else
            {
                foreach (var (name, rows) in new[] { ("q_proj", nq), ("k_proj", nkv), ("v_proj", nkv) })
                {
                    Add(at + $"self_attn.{name}.weight", ws, 0, rows, h);
                    if (c.QkvBias) Add(at + $"self_attn.{name}.bias", 0.1, 0, rows);
                }
                Add(at + "mlp.gate_proj.weight", ws, 0, inter, h);
                Add(at + "mlp.up_proj.weight", ws, 0, inter, h);
                if (c.MlpBias) { Add(at + "mlp.gate_proj.bias", 0.1, 0, inter); Add(at + "mlp.up_proj.bias", 0.1, 0, inter); }
            }
            Add(at + "self_attn.o_proj.weight", 1.0 / Math.Sqrt(nq), 0, h, nq);
            if (c.OutputBias) Add(at + "self_attn.o_proj.bias", 0.1, 0, h);
            Add(at + "mlp.down_proj.weight", 1.0 / Math.Sqrt(inter), 0, h, inter);
            if (c.MlpBias) Add(at + "mlp.down_proj.bias", 0.1, 0, h);
            if (c.ModelType == "olmo2")
            {
                Norm(at + "self_attn.q_norm.weight", nq);
                Norm(at + "self_attn.k_norm.weight", nkv);
            }
            else
            {
                Norm(at + "input_layernorm.weight", h);
                if (c.ModelType is "qwen3" or "gemma3_text")
                {
                    Norm(at + "self_attn.q_norm.weight", hd);
                    Norm(at + "self_attn.k_norm.weight", hd);
                }
            }
            Norm(at + "post_attention_layernorm.weight", h);
            if (c.ModelType is "gemma2" or "gemma3_text") Norm(at + "pre_feedforward_layernorm.weight", h);
            if (c.ModelType is "gemma2" or "gemma3_text" or "olmo2") Norm(at + "post_feedforward_layernorm.weight", h);
        }
        Norm(prefix + "norm.weight", h);
        if (!c.TieWordEmbeddings)
            Add(c.Multimodal && gemma3Prefix == HubGemma3Prefix ? "language_model.lm_head.weight" : "lm_head.weight", ws, 0, c.VocabSize, h);
        if (c.Multimodal) Add(VisionTensor, 0.1, 0, 16, 3, 4, 4);
        return tensors;
    }

    static double Normal(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
