using System;
using System.Collections.Generic;
using System.Linq;

namespace TrainableTokens.Core.Models;

/// <summary>
/// The Hugging Face <c>model_type</c> values this engine runs, each with the <see cref="DecoderSpec"/> it is built
/// from: the one table of architectures. What differs within a spec (Qwen2's q/k/v biases, Mistral's sliding window,
/// rope scaling) comes from config.json.
/// </summary>
public static class ModelArchitectures
{
    private static readonly DecoderSpec Llama = new()
    {
        Embedding = "model.embed_tokens",
        Positions = new RotaryPositions(),
        Layers = "model.layers",
        Norm = NormKind.Rms,
        PreAttentionNorm = "input_layernorm",
        PreMlpNorm = "post_attention_layernorm",
        Attention = new(new SeparateQkv("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"), "self_attn.o_proj"),
        Mlp = new GatedMlp("mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"),
        FinalNorm = "model.norm",
    };

    private static readonly DecoderSpec Gemma = Llama with { Norm = NormKind.GemmaRms, ScaleEmbedding = true };

    private static readonly DecoderSpec Qwen3 = Llama with
    {
        Attention = Llama.Attention with { QkNorm = new("self_attn.q_norm", "self_attn.k_norm", PerHead: true) },
    };

    private static readonly DecoderSpec Gemma2 = Gemma with
    {
        PostAttentionNorm = "post_attention_layernorm",
        PreMlpNorm = "pre_feedforward_layernorm",
        PostMlpNorm = "post_feedforward_layernorm",
    };

    private static readonly DecoderSpec Gemma3Text = Gemma2 with { Attention = Qwen3.Attention };

    /// <summary>The text model inside Gemma3ForConditionalGeneration, under transformers' current module names; hub
    /// checkpoints store it under the older ones. The vision tower's weights are not read (and are copied on merge).</summary>
    private static readonly DecoderSpec Gemma3 = Gemma3Text with
    {
        Embedding = "model.language_model.embed_tokens",
        Layers = "model.language_model.layers",
        FinalNorm = "model.language_model.norm",
        StoredPrefixes = new[] { ("model.language_model.", "language_model.model."), ("lm_head.", "language_model.lm_head.") },
    };

    private static readonly DecoderSpec Phi3 = Llama with
    {
        Attention = new(new FusedQkv("self_attn.qkv_proj"), "self_attn.o_proj"),
        Mlp = new FusedGatedMlp("mlp.gate_up_proj", "mlp.down_proj"),
    };

    private static readonly DecoderSpec Olmo2 = Llama with
    {
        Norm = NormKind.RmsScaledInFloat32,
        PreAttentionNorm = null,
        PostAttentionNorm = "post_attention_layernorm",
        PreMlpNorm = null,
        PostMlpNorm = "post_feedforward_layernorm",
        Attention = Llama.Attention with { QkNorm = new("self_attn.q_norm", "self_attn.k_norm", PerHead: false) },
        RotaryInFloat32 = true,
    };

    private static readonly DecoderSpec Gpt2 = new()
    {
        Embedding = "transformer.wte",
        Positions = new LearnedPositions("transformer.wpe"),
        Layers = "transformer.h",
        Norm = NormKind.Layer,
        PreAttentionNorm = "ln_1",
        PreMlpNorm = "ln_2",
        Attention = new(new FusedQkv("attn.c_attn"), "attn.c_proj"),
        Mlp = new PlainMlp("mlp.c_fc", "mlp.c_proj"),
        FinalNorm = "transformer.ln_f",
        Conv1D = true,
        NormsFirst = true,
    };

    private static readonly (string ModelType, DecoderSpec Spec)[] Table =
    {
        ("llama", Llama),
        ("mistral", Llama),
        ("qwen2", Llama),
        ("gemma", Gemma),
        ("gpt2", Gpt2),
        ("qwen3", Qwen3),
        ("gemma2", Gemma2),
        ("gemma3_text", Gemma3Text),
        ("gemma3", Gemma3),
        ("phi3", Phi3),
        ("smollm3", Llama),
        ("olmo2", Olmo2),
    };

    public static readonly IReadOnlyList<string> Supported = Table.Select(t => t.ModelType).ToArray();

    /// <summary>The spec of a supported <paramref name="modelType"/> (config.json's model_type is checked when it is read).</summary>
    public static DecoderSpec Spec(string modelType)
    {
        foreach (var (type, spec) in Table)
            if (type == modelType) return spec;
        throw new ArgumentException($"model_type '{modelType}' is not supported. Supported: {string.Join(", ", Supported)}.", nameof(modelType));
    }

    /// <summary>The input embedding's module path, as PEFT names it (its default <c>target_modules</c>).</summary>
    public static string InputEmbeddingPath(string modelType) => Spec(modelType).Embedding;

    /// <summary>The LM head's module path.</summary>
    public static string LmHeadPath(string modelType) => IsSupported(modelType) ? Spec(modelType).LmHead : "lm_head";

    /// <summary>The module-path name of a weight as this checkpoint stores it: Gemma 3 hub checkpoints' older prefixes
    /// map to transformers' current module names; any other name is returned as it is.</summary>
    public static string ModuleName(string modelType, string storedName)
    {
        if (!IsSupported(modelType)) return storedName;
        foreach (var (module, stored) in Spec(modelType).StoredPrefixes)
            if (storedName.StartsWith(stored, StringComparison.Ordinal)) return module + storedName[stored.Length..];
        return storedName;
    }

    /// <summary>The names a module had under older transformers versions (a Gemma 3 checkpoint's stored prefixes), for
    /// adapters trained then; empty for most modules.</summary>
    public static IEnumerable<string> OlderModulePaths(string modulePath) =>
        Table.SelectMany(t => t.Spec.StoredPrefixes)
            .Where(p => (modulePath + ".").StartsWith(p.Module, StringComparison.Ordinal) && p.Module != p.Stored)
            .Select(p => (p.Stored + (modulePath + ".")[p.Module.Length..]).TrimEnd('.'))
            .Distinct();

    public static bool IsSupported(string modelType) => ((ICollection<string>)Supported).Contains(modelType);
}
