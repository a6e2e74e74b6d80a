namespace TrainableTokens.Core.Configuration;

/// <summary>Checks between training settings, which the schema cannot express.</summary>
public sealed partial record TrainingConfig
{
    partial void OnValidate(ConfigValidator check)
    {
        if (WarmupSteps > 0 && WarmupRatio > 0 && !check.ReadFailed("warmup_steps") && !check.ReadFailed("warmup_ratio"))
            check.Warning("warmup_ratio", $"Both warmup_steps ({WarmupSteps}) and warmup_ratio ({WarmupRatio}) are set; warmup_steps wins. Remove one of them.");
        if (EvalSteps is not null && EvalSplit == 0 && !check.ReadFailed("eval_split"))
            check.Warning("eval_steps", "eval_steps is set but eval_split is 0, so there is nothing to evaluate. Set eval_split (for example 0.1) or remove eval_steps.");
    }
}
