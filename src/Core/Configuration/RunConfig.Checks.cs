namespace TrainableTokens.Core.Configuration;

/// <summary>Checks between a run file's sections: it trains one adapter, so it names one method.</summary>
public sealed partial record RunConfig
{
    partial void OnValidate(ConfigValidator check)
    {
        if (check.ReadFailed("trainable_tokens") || check.ReadFailed("lora") || check.WasSuggested("trainable_tokens") || check.WasSuggested("lora")) return;
        if (TrainableTokens is null && Lora is null)
            check.Error("trainable_tokens", "The run file names no method. Add a trainable_tokens section (token_indices: [...]) to train token rows, or a lora section (r: 8, target_modules: [...]) to train a LoRA adapter.");
        else if (TrainableTokens is not null && Lora is not null)
            check.Error("lora", "The run file has both a trainable_tokens and a lora section; a run trains one adapter. Keep one: to train token rows together with LoRA, remove trainable_tokens and list the ids in lora.trainable_token_indices.");
    }

    /// <summary>The method the run trains: "lora" when the lora section is there, else "trainable_tokens".</summary>
    public string Method => Lora is not null ? "lora" : "trainable_tokens";
}
