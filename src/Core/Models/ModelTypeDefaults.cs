namespace TrainableTokens.Core.Models;

/// <summary>
/// The values transformers' configuration class of each llama-like model_type uses when config.json leaves a field
/// out (read from each family's configuration_*.py, which documents them as its reference checkpoint's).
/// </summary>
internal sealed record ModelTypeDefaults
{
    /// <summary>head_dim when config.json has none; null means hidden_size / num_attention_heads.</summary>
    public int? HeadDim { get; init; }
    /// <summary>The activation is read from hidden_activation first, then hidden_act (the Gemma families).</summary>
    public bool GemmaActivation { get; init; }
    public string Activation { get; init; } = "silu";
    public bool TieWordEmbeddings { get; init; }
    public int MaxPositions { get; init; } = 2048;
    public double NormEpsilon { get; init; } = 1e-6;
    /// <summary>q, k and v always have biases (Qwen2), rather than only with attention_bias.</summary>
    public bool AlwaysQkvBias { get; init; }
    /// <summary>attention_bias gives the q/k/v and output projections biases (Phi-3's projections never have one).</summary>
    public bool AttentionBias { get; init; } = true;
    /// <summary>mlp_bias is read (Llama, SmolLM3).</summary>
    public bool MlpBias { get; init; }
    public double? QueryPreAttentionScalar { get; init; }
    public double? AttentionSoftcap { get; init; }
    public double? FinalLogitSoftcap { get; init; }
    public int? SlidingWindow { get; init; }

    private static readonly ModelTypeDefaults Gemma = new()
    {
        HeadDim = 256, GemmaActivation = true, Activation = "gelu_pytorch_tanh", TieWordEmbeddings = true, MaxPositions = 8192,
    };

    public static ModelTypeDefaults For(string modelType) => modelType switch
    {
        "llama" => new() { MlpBias = true },
        "mistral" => new() { MaxPositions = 4096 * 32, SlidingWindow = 4096 },
        "qwen2" => new() { MaxPositions = 32768, AlwaysQkvBias = true, AttentionBias = false, SlidingWindow = 4096 },
        "qwen3" => new() { HeadDim = 128, MaxPositions = 32768, SlidingWindow = 4096 },
        "gemma" => Gemma,
        "gemma2" => Gemma with { QueryPreAttentionScalar = 256, AttentionSoftcap = 50, FinalLogitSoftcap = 30, SlidingWindow = 4096 },
        "gemma3_text" or "gemma3" => Gemma with { MaxPositions = 131072, QueryPreAttentionScalar = 256, SlidingWindow = 4096 },
        "phi3" => new() { MaxPositions = 4096, NormEpsilon = 1e-5, AttentionBias = false },
        "smollm3" => new() { TieWordEmbeddings = true, MaxPositions = 32768, MlpBias = true },
        "olmo2" => new() { NormEpsilon = 1e-5 },
        _ => new(),
    };
}
