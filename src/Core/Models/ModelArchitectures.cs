using System.Collections.Generic;

namespace TrainableTokens.Core.Models;

/// <summary>The Hugging Face <c>model_type</c> values this engine runs, and where each keeps its embedding and head.</summary>
public static class ModelArchitectures
{
    public static readonly IReadOnlyList<string> Supported = new[] { "llama", "mistral", "qwen2", "gemma", "gpt2" };

    /// <summary>The input embedding's module path, as PEFT names it (its default <c>target_modules</c>).</summary>
    public static string InputEmbeddingPath(string modelType) => modelType == "gpt2" ? "transformer.wte" : "model.embed_tokens";

    /// <summary>The LM head's module path.</summary>
    public static string LmHeadPath(string modelType) => "lm_head";

    public static bool IsSupported(string modelType) => ((ICollection<string>)Supported).Contains(modelType);
}
