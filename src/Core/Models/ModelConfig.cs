using System.Collections.Generic;

namespace TrainableTokens.Core.Models;

/// <summary>
/// The parts of a Hugging Face config.json that the forward pass needs, normalised across architectures
/// (GPT-2's n_embd/n_layer/n_head map to HiddenSize/NumLayers/NumHeads). Read with <see cref="ModelConfigReader"/>.
/// </summary>
public sealed record ModelConfig
{
    public required string ModelType { get; init; }
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required int HeadDim { get; init; }
    public required double NormEpsilon { get; init; }
    public required string HiddenActivation { get; init; }
    public required bool TieWordEmbeddings { get; init; }
    public required int MaxPositions { get; init; }
    /// <summary>The rotary embedding (of full-attention layers, when those differ); read by <see cref="RopeConfigReader"/>.</summary>
    public RopeParameters Rope { get; init; } = RopeParameters.Default;
    /// <summary>The rotary embedding of sliding-window layers (Gemma 3's local rope), or null when it is <see cref="Rope"/>.</summary>
    public RopeParameters? SlidingRope { get; init; }
    /// <summary>The share of each head that rotates (Phi-4-mini: 0.75): the first int(head_dim * factor) dimensions.</summary>
    public double PartialRotaryFactor { get; init; } = 1;
    /// <summary>Bias on the q, k and v projections (Qwen2 always; Llama with attention_bias).</summary>
    public bool QkvBias { get; init; }
    /// <summary>Bias on the attention output projection (Llama with attention_bias).</summary>
    public bool OutputBias { get; init; }
    public bool MlpBias { get; init; }
    /// <summary>Per layer: the sliding-window size, or null for full attention.</summary>
    public IReadOnlyList<int?> SlidingWindows { get; init; } = new List<int?>();
    /// <summary>Per layer: whether rotary embeddings are applied (SmolLM3's no-rope layers are false); empty means every layer.</summary>
    public IReadOnlyList<bool> RotaryLayers { get; init; } = new List<bool>();
    /// <summary>Per layer: whether the layer type is sliding attention (Gemma 3's local layers take the local rope); empty means none.</summary>
    public IReadOnlyList<bool> SlidingLayers { get; init; } = new List<bool>();
    /// <summary>Attention scores are scaled by query_pre_attn_scalar^-0.5 (Gemma 2 and 3) instead of head_dim^-0.5; null for head_dim.</summary>
    public double? QueryPreAttentionScalar { get; init; }
    /// <summary>Attention scores become cap * tanh(score / cap) before the mask (Gemma 2's attn_logit_softcapping); null for none.</summary>
    public double? AttentionSoftcap { get; init; }
    /// <summary>Logits become cap * tanh(logit / cap) (Gemma 2's final_logit_softcapping); null for none.</summary>
    public double? FinalLogitSoftcap { get; init; }
    /// <summary>The dtype the checkpoint was saved in ("float32", "bfloat16", "float16"), when config.json says.</summary>
    public string? TorchDtype { get; init; }
    public int? BosTokenId { get; init; }
    public int? EosTokenId { get; init; }
    public int? PadTokenId { get; init; }
}
