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
    public static string LmHeadPath(string modelType) => "lm_head";

    public static bool IsSupported(string modelType) => ((ICollection<string>)Supported).Contains(modelType);
}
