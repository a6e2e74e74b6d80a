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
        var generator = new Generator((ulong)seed);
        var result = new List<KeyValuePair<string, Tensor>>();
        foreach (var w in ModelLoader.ExpectedWeights(config))
        {
            var noise = randn(w.Shape, ScalarType.Float32, generator: generator);
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
        fields["tie_word_embeddings"] = s.TieWordEmbeddings ?? s.ModelType == "gemma";
        fields["bos_token_id"] = s.BosTokenId ?? 1;
        fields["eos_token_id"] = s.EosTokenId ?? 2;
        switch (s.ModelType)
        {
            case "llama":
                fields["attention_bias"] = s.AttentionBias;
                fields["mlp_bias"] = false;
                fields["hidden_act"] = "silu";
                fields["head_dim"] = s.HeadDim ?? s.HiddenSize / s.NumHeads;
                fields["pretraining_tp"] = 1;
                fields["rope_scaling"] = null;
                break;
            case "mistral":
                fields["hidden_act"] = "silu";
                fields["head_dim"] = s.HeadDim ?? s.HiddenSize / s.NumHeads;
                fields["sliding_window"] = s.SlidingWindow;
                break;
            case "qwen2":
                fields["hidden_act"] = "silu";
                fields["max_window_layers"] = s.NumLayers;
                fields["sliding_window"] = s.SlidingWindow;
                fields["use_sliding_window"] = false;
                fields["rope_scaling"] = null;
                break;
            case "gemma":
                fields["attention_bias"] = false;
                fields["hidden_act"] = "gelu_pytorch_tanh";
                fields["hidden_activation"] = "gelu_pytorch_tanh";
                fields["head_dim"] = s.HeadDim ?? s.HiddenSize / s.NumHeads;
                fields["pad_token_id"] = 0;
                fields["rope_scaling"] = null;
                break;
        }
        WriteRope(fields, s);
        return Serialize(fields);
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
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private static string Serialize(SortedDictionary<string, object?> fields) =>
        JsonSerializer.Serialize(fields, new JsonSerializerOptions { WriteIndented = true }) + "\n";
}
