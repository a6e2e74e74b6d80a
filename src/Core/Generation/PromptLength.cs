using TrainableTokens.Core.Models;

namespace TrainableTokens.Core.Generation;

/// <summary>The prompt and the tokens asked for must fit the model's positions: GPT-2's n_positions (its table has no
/// more rows), max_position_embeddings for rope models (what they were trained for).</summary>
public static class PromptLength
{
    public static void Check(ModelConfig config, int promptTokens, int maxNewTokens)
    {
        var field = config.ModelType == "gpt2" ? "n_positions" : "max_position_embeddings";
        int max = config.MaxPositions;
        if (promptTokens > max)
            throw new PromptTooLongException(
                $"The prompt has {promptTokens} tokens, but the model has {max} positions ({field} in config.json). Shorten the prompt to at most {max - 1} tokens.", "Prompt");
        if ((long)promptTokens + maxNewTokens > max)
            throw new PromptTooLongException(
                $"The prompt's {promptTokens} tokens plus MaxNewTokens {maxNewTokens} pass the model's {max} positions ({field} in config.json). " +
                $"Give MaxNewTokens {max - promptTokens} or less{(max - promptTokens < 1 ? " (none fit: shorten the prompt)" : "")}, or shorten the prompt.", "MaxNewTokens");
    }
}
