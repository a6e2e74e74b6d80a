namespace TrainableTokens.Core.Models;

/// <summary>
/// What <see cref="TinyModelFactory"/> builds: an architecture and its (small) sizes. Defaults give a model of
/// about 50k parameters that still exercises grouped-query attention, RoPE and tied embeddings.
/// </summary>
public sealed record TinyModelSpec
{
    /// <summary>One of <see cref="ModelArchitectures.Supported"/>.</summary>
    public required string ModelType { get; init; }
    public int Seed { get; init; }
    /// <summary>"float32", "bfloat16" or "float16": the dtype the weights are saved in.</summary>
    public string Dtype { get; init; } = "float32";
    /// <summary>Tie the LM head to the input embedding; null takes the architecture's Hugging Face default.</summary>
    public bool? TieWordEmbeddings { get; init; }
    /// <summary>Split the weights into shards of at most this many bytes, with model.safetensors.index.json.</summary>
    public long? MaxShardBytes { get; init; }
    public int VocabSize { get; init; } = 128;
    public int HiddenSize { get; init; } = 64;
    public int IntermediateSize { get; init; } = 128;
    public int NumLayers { get; init; } = 2;
    public int NumHeads { get; init; } = 4;
    /// <summary>Key/value heads (grouped-query attention); GPT-2 ignores it.</summary>
    public int NumKeyValueHeads { get; init; } = 2;
    /// <summary>Head size; null means hidden_size / num_attention_heads.</summary>
    public int? HeadDim { get; init; }
    public int MaxPositions { get; init; } = 128;
    /// <summary>The rotary embedding (any type); null writes the default with theta 10000.</summary>
    public RopeParameters? Rope { get; init; }
    /// <summary>The sliding-window layers' rope (Gemma 3's local rope); in the 4.x layout only its theta is written (rope_local_base_freq).</summary>
    public RopeParameters? SlidingRope { get; init; }
    /// <summary>Write transformers 5's rope_parameters (per layer type when <see cref="SlidingRope"/> is set) instead of rope_theta + rope_scaling.</summary>
    public bool RopeParametersLayout { get; init; }
    /// <summary>A top-level original_max_position_embeddings, as Phi-3 writes it (it wins over the rope block's).</summary>
    public int? OriginalMaxPositions { get; init; }
    /// <summary>partial_rotary_factor, for architectures that rotate part of each head (top level in 4.x, inside rope_parameters in 5.x).</summary>
    public double? PartialRotaryFactor { get; init; }
    /// <summary>Mistral's sliding window; written as sliding_window.</summary>
    public int? SlidingWindow { get; init; }
    /// <summary>Gemma 2 and 3's query_pre_attn_scalar; null takes head_dim.</summary>
    public double? QueryPreAttentionScalar { get; init; }
    /// <summary>Gemma 2's attn_logit_softcapping and final_logit_softcapping; null takes Gemma 2's defaults (50 and 30) for
    /// gemma2 and none for the others.</summary>
    public double? AttentionSoftcap { get; init; }
    public double? FinalLogitSoftcap { get; init; }
    /// <summary>Gemma 3's sliding_window_pattern (every pattern-th layer attends fully); null takes 2, so a two-layer model has one of each.</summary>
    public int? SlidingWindowPattern { get; init; }
    /// <summary>SmolLM3's no_rope_layers (1 rotates, 0 does not); null takes no_rope_layer_interval 2, so a two-layer model has one of each.</summary>
    public int[]? NoRopeLayers { get; init; }
    /// <summary>Llama's attention_bias (biases on q, k, v and o).</summary>
    public bool AttentionBias { get; init; }
    /// <summary>
    /// A folder whose tokenizer files are copied in, so the model can be trained as it is: the vocabulary grows to the
    /// tokenizer's size when <see cref="VocabSize"/> is smaller, and bos/eos ids come from the tokenizer.
    /// </summary>
    public string? TokenizerFolder { get; init; }
    /// <summary>config.json's bos_token_id and eos_token_id; null keeps the architecture's defaults (set from the tokenizer's when one is given).</summary>
    public int? BosTokenId { get; init; }
    public int? EosTokenId { get; init; }
}
