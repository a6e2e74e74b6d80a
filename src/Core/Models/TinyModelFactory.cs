using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Runtime;
using TrainableTokens.Core.Tokenization;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>
/// Writes a small random Hugging Face model folder (config.json with the fields transformers writes for that
/// architecture, and model.safetensors or a sharded checkpoint), deterministic from a seed. Tests, demos and
/// benchmarks build their models with it, as PEFT's own tests use tiny random models: nothing is downloaded.
/// </summary>
public static class TinyModelFactory
{
    public const string TransformersVersion = "4.46.0";

    /// <summary>The command named in the output's marker: -Force replaces only folders it wrote.</summary>
    public const string Writer = "New-TinyModel";

    /// <summary>Writes the folder atomically and returns the config it describes. An existing folder is replaced only with <paramref name="overwrite"/>.</summary>
    public static ModelConfig Create(string folder, TinyModelSpec spec, bool overwrite = false)
    {
        spec = WithTokenizer(spec);
        ModelConfig? config = null;
        AtomicFolder.Write(folder, temp =>
        {
            config = WriteInto(temp, spec);
            if (spec.TokenizerFolder is { } tokenizer) TokenizerFiles.CopyInto(tokenizer, temp);
        }, overwrite, Writer);
        return config!;
    }

    /// <summary>The spec sized for its tokenizer (read before anything is written, so a bad one writes nothing).</summary>
    private static TinyModelSpec WithTokenizer(TinyModelSpec spec)
    {
        if (spec.TokenizerFolder is not { } folder) return spec;
        using var tokenizer = ModelTokenizer.Load(folder);
        return spec with
        {
            VocabSize = Math.Max(spec.VocabSize, tokenizer.Size),
            BosTokenId = spec.BosTokenId ?? tokenizer.BosTokenId,
            EosTokenId = spec.EosTokenId ?? tokenizer.EosTokenId,
        };
    }

    private static ModelConfig WriteInto(string folder, TinyModelSpec spec)
    {
        if (!ModelArchitectures.IsSupported(spec.ModelType))
            throw new ArgumentException($"model_type '{spec.ModelType}' is not supported. Supported: {string.Join(", ", ModelArchitectures.Supported)}.", nameof(spec));
        TorchRuntime.EnsureLoaded();
        var json = ConfigJson(spec);
        using var doc = JsonDocument.Parse(json);
        var config = ModelConfigReader.Parse(doc.RootElement, Path.Combine(folder, ModelConfigReader.FileName));

        AtomicFile.WriteAllBytes(Path.Combine(folder, ModelConfigReader.FileName), Encoding.UTF8.GetBytes(json));
        using var scope = NewDisposeScope();
        var weights = RandomWeights(config, spec.Seed, ModelDtype.Parse(spec.Dtype));
        if (config.ModelType == "gemma3") weights = AsHubGemma3(weights, ModelDtype.Parse(spec.Dtype));
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        if (spec.MaxShardBytes is { } max)
            SafetensorsWriter.WriteSharded(folder, weights, max, metadata);
        else
            SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), weights, metadata);
        return config;
    }

    /// <summary>Seeded random weights in Hugging Face order: matrices N(0, 0.02), norm scales near 1, Gemma's norm offsets near 0.</summary>
    public static List<KeyValuePair<string, Tensor>> RandomWeights(ModelConfig config, int seed, ScalarType dtype)
    {
        var generator = new Generator((ulong)seed, CPU);
        var result = new List<KeyValuePair<string, Tensor>>();
        foreach (var w in ModelLoader.ExpectedWeights(config))
        {
            var noise = randn(w.Shape, ScalarType.Float32, CPU, generator: generator);
            var value = w.Kind switch
            {
                WeightKind.NormScale => noise * 0.1 + 1.0,
                WeightKind.NormOffset => noise * 0.1,
                WeightKind.Embedding => noise * 0.5,
                _ => noise * 0.02,
            };
            result.Add(new(w.Name, value.to(dtype)));
        }
        return result;
    }

    /// <summary>
    /// Weights named as a Gemma 3 hub checkpoint stores them (<c>language_model.model.*</c>), plus two small tensors of the
    /// vision side that the text model never reads, sized by the tiny vision_config, so that a merge can be seen to keep them.
    /// </summary>
    private static List<KeyValuePair<string, Tensor>> AsHubGemma3(List<KeyValuePair<string, Tensor>> weights, ScalarType dtype)
    {
        var prefixes = ModelArchitectures.Spec("gemma3").StoredPrefixes;
        var renamed = weights.Select(w =>
        {
            foreach (var (module, stored) in prefixes)
                if (w.Key.StartsWith(module, StringComparison.Ordinal)) return new KeyValuePair<string, Tensor>(stored + w.Key[module.Length..], w.Value);
            return w;
        }).ToList();
        var generator = new Generator(7, CPU);
        renamed.Add(new("multi_modal_projector.mm_soft_emb_norm.weight", randn(new long[] { Gemma3VisionHidden }, ScalarType.Float32, CPU, generator: generator).to(dtype)));
        renamed.Add(new("vision_tower.vision_model.post_layernorm.weight", randn(new long[] { Gemma3VisionHidden }, ScalarType.Float32, CPU, generator: generator).to(dtype)));
        return renamed;
    }

    private const int Gemma3VisionHidden = 16;

    /// <summary>config.json as transformers' save_pretrained writes it for the architecture: sorted keys, two-space indent.</summary>
    public static string ConfigJson(TinyModelSpec s)
    {
        var fields = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["model_type"] = s.ModelType,
            ["torch_dtype"] = s.Dtype,
            ["transformers_version"] = TransformersVersion,
            ["vocab_size"] = s.VocabSize,
            ["initializer_range"] = 0.02,
            ["use_cache"] = true,
        };
        if (s.ModelType == "gpt2")
        {
            fields["architectures"] = new[] { "GPT2LMHeadModel" };
            fields["activation_function"] = "gelu_new";
            fields["attn_pdrop"] = 0.1;
            fields["embd_pdrop"] = 0.1;
            fields["resid_pdrop"] = 0.1;
            fields["bos_token_id"] = s.BosTokenId ?? s.VocabSize - 1;
            fields["eos_token_id"] = s.EosTokenId ?? s.VocabSize - 1;
            fields["layer_norm_epsilon"] = 1e-5;
            fields["n_ctx"] = s.MaxPositions;
            fields["n_embd"] = s.HiddenSize;
            fields["n_head"] = s.NumHeads;
            fields["n_inner"] = s.IntermediateSize;
            fields["n_layer"] = s.NumLayers;
            fields["n_positions"] = s.MaxPositions;
            fields["reorder_and_upcast_attn"] = false;
            fields["scale_attn_by_inverse_layer_idx"] = false;
            fields["scale_attn_weights"] = true;
            fields["summary_activation"] = null;
            fields["summary_first_dropout"] = 0.1;
            fields["summary_proj_to_labels"] = true;
            fields["summary_type"] = "cls_index";
            fields["summary_use_proj"] = true;
            fields["tie_word_embeddings"] = s.TieWordEmbeddings ?? true;
            return Serialize(fields);
        }

        fields["architectures"] = new[] { ArchitectureClass(s.ModelType) };
        fields["attention_dropout"] = 0.0;
        fields["hidden_size"] = s.HiddenSize;
        fields["intermediate_size"] = s.IntermediateSize;
        fields["max_position_embeddings"] = s.MaxPositions;
        fields["num_attention_heads"] = s.NumHeads;
        fields["num_hidden_layers"] = s.NumLayers;
        fields["num_key_value_heads"] = s.NumKeyValueHeads;
        fields["rms_norm_eps"] = 1e-6;
        fields["rope_theta"] = (s.Rope ?? RopeParameters.Default).Theta;
        fields["tie_word_embeddings"] = s.TieWordEmbeddings ?? s.ModelType is "gemma" or "gemma2" or "gemma3_text" or "gemma3" or "smollm3";
        fields["bos_token_id"] = s.BosTokenId ?? 1;
        fields["eos_token_id"] = s.EosTokenId ?? 2;
        var headDim = s.HeadDim ?? s.HiddenSize / s.NumHeads;
        switch (s.ModelType)
        {
            case "llama":
                fields["attention_bias"] = s.AttentionBias;
                fields["mlp_bias"] = false;
                fields["hidden_act"] = "silu";
                fields["head_dim"] = headDim;
                fields["pretraining_tp"] = 1;
                fields["rope_scaling"] = null;
                break;
            case "mistral":
                fields["hidden_act"] = "silu";
                fields["head_dim"] = headDim;
                fields["sliding_window"] = s.SlidingWindow;
                break;
            case "qwen2":
                fields["hidden_act"] = "silu";
                fields["max_window_layers"] = s.NumLayers;
                fields["sliding_window"] = s.SlidingWindow;
                fields["use_sliding_window"] = false;
                fields["rope_scaling"] = null;
                break;
            case "qwen3":
                // With a window, the layers from max_window_layers on slide, as Qwen3Config lays them out.
                fields["attention_bias"] = s.AttentionBias;
                fields["hidden_act"] = "silu";
                fields["head_dim"] = headDim;
                fields["max_window_layers"] = s.SlidingWindow is null ? s.NumLayers : s.NumLayers / 2;
                fields["sliding_window"] = s.SlidingWindow;
                fields["use_sliding_window"] = s.SlidingWindow is not null;
                fields["rope_scaling"] = null;
                break;
            case "gemma":
                fields["attention_bias"] = false;
                fields["hidden_act"] = "gelu_pytorch_tanh";
                fields["hidden_activation"] = "gelu_pytorch_tanh";
                fields["head_dim"] = headDim;
                fields["pad_token_id"] = 0;
                fields["rope_scaling"] = null;
                break;
            case "gemma2":
                GemmaFields(fields, s, headDim);
                fields["attn_logit_softcapping"] = s.AttentionSoftcap ?? 50.0;
                fields["final_logit_softcapping"] = s.FinalLogitSoftcap ?? 30.0;
                fields["cache_implementation"] = "hybrid";
                break;
            case "gemma3_text":
                Gemma3Fields(fields, s, headDim);
                break;
            case "gemma3":
                return Serialize(Gemma3Conditional(fields, s, headDim));
            case "phi3":
                fields["hidden_act"] = "silu";
                fields["original_max_position_embeddings"] = s.MaxPositions;
                fields["pad_token_id"] = 0;
                fields["resid_pdrop"] = 0.0;
                fields["embd_pdrop"] = 0.0;
                fields["sliding_window"] = s.SlidingWindow;
                fields["rope_scaling"] = null;
                break;
            case "smollm3":
                fields["attention_bias"] = s.AttentionBias;
                fields["mlp_bias"] = false;
                fields["hidden_act"] = "silu";
                fields["no_rope_layers"] = s.NoRopeLayers ?? Enumerable.Range(0, s.NumLayers).Select(i => (i + 1) % 2 != 0 ? 1 : 0).ToArray();
                fields["no_rope_layer_interval"] = 2;
                fields["use_sliding_window"] = false;
                fields["sliding_window"] = null;
                fields["pad_token_id"] = 0;
                fields["rope_scaling"] = null;
                break;
            case "olmo2":
                fields["attention_bias"] = s.AttentionBias;
                fields["hidden_act"] = "silu";
                fields["pad_token_id"] = 0;
                fields["rope_scaling"] = null;
                break;
        }
        WriteRope(fields, s);
        return Serialize(fields);
    }

    private static void GemmaFields(SortedDictionary<string, object?> fields, TinyModelSpec s, int headDim)
    {
        fields["attention_bias"] = false;
        fields["hidden_activation"] = "gelu_pytorch_tanh";
        fields["head_dim"] = headDim;
        fields["pad_token_id"] = 0;
        fields["query_pre_attn_scalar"] = s.QueryPreAttentionScalar ?? headDim;
        fields["sliding_window"] = s.SlidingWindow ?? 4096;
        fields["rope_scaling"] = null;
    }

    private static void Gemma3Fields(SortedDictionary<string, object?> fields, TinyModelSpec s, int headDim)
    {
        GemmaFields(fields, s, headDim);
        fields["attn_logit_softcapping"] = s.AttentionSoftcap;
        fields["final_logit_softcapping"] = s.FinalLogitSoftcap;
        // The 4.x layout's local base; the v5 layout keeps it in rope_parameters.sliding_attention instead.
        if (!s.RopeParametersLayout) fields["rope_local_base_freq"] = 10000.0;
        fields["sliding_window_pattern"] = s.SlidingWindowPattern ?? 2;
    }

    /// <summary>A Gemma3ForConditionalGeneration config.json: the text model's fields in text_config, a tiny SigLIP vision_config.</summary>
    private static SortedDictionary<string, object?> Gemma3Conditional(SortedDictionary<string, object?> fields, TinyModelSpec s, int headDim)
    {
        Gemma3Fields(fields, s, headDim);
        WriteRope(fields, s);
        var text = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in fields)
            if (key is not ("architectures" or "torch_dtype" or "transformers_version" or "tie_word_embeddings")) text[key] = value;
        text["model_type"] = "gemma3_text";
        return new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["architectures"] = fields["architectures"],
            ["model_type"] = "gemma3",
            ["torch_dtype"] = fields["torch_dtype"],
            ["transformers_version"] = fields["transformers_version"],
            ["tie_word_embeddings"] = fields["tie_word_embeddings"],
            ["boi_token_index"] = 255999,
            ["eoi_token_index"] = 256000,
            ["image_token_index"] = 262144,
            ["mm_tokens_per_image"] = 4,
            ["initializer_range"] = 0.02,
            ["text_config"] = text,
            ["vision_config"] = new SortedDictionary<string, object?>(StringComparer.Ordinal)
            {
                ["model_type"] = "siglip_vision_model",
                ["hidden_size"] = Gemma3VisionHidden,
                ["intermediate_size"] = 32,
                ["num_hidden_layers"] = 1,
                ["num_attention_heads"] = 2,
                ["image_size"] = 28,
                ["patch_size"] = 14,
                ["vision_use_head"] = false,
            },
        };
    }

    /// <summary>The rope as transformers 4.x (rope_theta, rope_scaling, rope_local_base_freq) or 5.x (rope_parameters) writes it.</summary>
    private static void WriteRope(SortedDictionary<string, object?> fields, TinyModelSpec s)
    {
        var rope = s.Rope ?? RopeParameters.Default;
        if (s.OriginalMaxPositions is { } original) fields["original_max_position_embeddings"] = original;
        if (s.RopeParametersLayout)
        {
            fields.Remove("rope_theta");
            fields.Remove("rope_scaling");
            var full = RopeBlock(rope, withTheta: true);
            if (s.PartialRotaryFactor is { } p) full["partial_rotary_factor"] = p;
            fields["rope_parameters"] = s.SlidingRope is { } sliding
                ? new SortedDictionary<string, object?>(StringComparer.Ordinal) { ["full_attention"] = full, ["sliding_attention"] = RopeBlock(sliding, withTheta: true) }
                : full;
            return;
        }
        if (rope.Type != "default") fields["rope_scaling"] = RopeBlock(rope, withTheta: false);
        if (s.PartialRotaryFactor is { } partial) fields["partial_rotary_factor"] = partial;
        if (s.SlidingRope is { } local)
        {
            if (local.Type != "default")
                throw new ArgumentException("In the 4.x layout the sliding layers' rope is rope_local_base_freq, which has the default type only.", nameof(s));
            fields["rope_local_base_freq"] = local.Theta;
        }
    }

    private static SortedDictionary<string, object?> RopeBlock(RopeParameters r, bool withTheta)
    {
        var block = new SortedDictionary<string, object?>(StringComparer.Ordinal) { ["rope_type"] = r.Type };
        if (withTheta) block["rope_theta"] = r.Theta;
        void Put(string key, object? value)
        {
            if (value is not null) block[key] = value;
        }
        Put("factor", r.Factor);
        Put("original_max_position_embeddings", r.OriginalMaxPositions);
        Put("low_freq_factor", r.LowFreqFactor);
        Put("high_freq_factor", r.HighFreqFactor);
        Put("attention_factor", r.AttentionFactor);
        Put("beta_fast", r.BetaFast);
        Put("beta_slow", r.BetaSlow);
        Put("mscale", r.Mscale);
        Put("mscale_all_dim", r.MscaleAllDim);
        Put("truncate", r.Truncate);
        Put("short_factor", r.ShortFactor);
        Put("long_factor", r.LongFactor);
        return block;
    }

    private static string ArchitectureClass(string type) => type switch
    {
        "llama" => "LlamaForCausalLM",
        "mistral" => "MistralForCausalLM",
        "qwen2" => "Qwen2ForCausalLM",
        "gemma" => "GemmaForCausalLM",
        "qwen3" => "Qwen3ForCausalLM",
        "gemma2" => "Gemma2ForCausalLM",
        "gemma3_text" => "Gemma3ForCausalLM",
        "gemma3" => "Gemma3ForConditionalGeneration",
        "phi3" => "Phi3ForCausalLM",
        "smollm3" => "SmolLM3ForCausalLM",
        "olmo2" => "Olmo2ForCausalLM",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private static string Serialize(SortedDictionary<string, object?> fields) =>
        JsonSerializer.Serialize(fields, new JsonSerializerOptions { WriteIndented = true }) + "\n";
}
