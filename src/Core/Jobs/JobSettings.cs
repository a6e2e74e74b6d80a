using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Tuners.Lora;

namespace TrainableTokens.Core.Jobs;

/// <summary>
/// The adapter side of a job: adapter_config.json exactly as Start-TokenTraining would save it for the run, and the
/// keyword arguments of PEFT's config class that make PEFT save the same file.
/// </summary>
internal static class JobSettings
{
    /// <summary>LoraConfig's constructor arguments this module sets; the rest of adapter_config.json is PEFT's bookkeeping.</summary>
    private static readonly string[] LoraKeys =
    {
        "r", "lora_alpha", "lora_dropout", "target_modules", "exclude_modules", "use_rslora", "bias", "init_lora_weights",
        "layers_to_transform", "layers_pattern", "rank_pattern", "alpha_pattern", "modules_to_save", "trainable_token_indices",
        "ensure_weight_tying", "task_type",
    };

    private static readonly string[] TokenKeys = { "token_indices", "target_modules", "init_weights", "task_type" };

    /// <summary>The adapter_config.json Start-TokenTraining writes for <paramref name="run"/>, as a JSON object.</summary>
    public static JsonObject AdapterConfig(PreparedRun run)
    {
        var text = run.LoraAdapter is { } lora
            ? lora.WithTargetsResolved().ToJson()
            : run.Adapter!.WithTargetsResolved(Models.ModelArchitectures.InputEmbeddingPath(run.Model.ModelType)).AsSaved().ToJson();
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>The keyword arguments of peft.TrainableTokensConfig or peft.LoraConfig, taken from the saved config.</summary>
    public static JsonObject PeftArguments(PreparedRun run, JsonObject adapterConfig)
    {
        var keys = run.LoraAdapter is not null ? LoraKeys : TokenKeys;
        return new JsonObject(keys.Where(adapterConfig.ContainsKey)
            .Select(k => new KeyValuePair<string, JsonNode?>(k, adapterConfig[k]?.DeepClone())));
    }

    /// <summary>The PEFT class the job builds: TrainableTokensConfig or LoraConfig.</summary>
    public static string PeftType(PreparedRun run) => run.LoraAdapter is not null ? LoraConfig.PeftType : Tuners.TrainableTokens.TrainableTokensAdapterConfig.PeftType;
}
