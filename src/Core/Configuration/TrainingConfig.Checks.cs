namespace TrainableTokens.Core.Configuration;

/// <summary>Checks between training settings, which the schema cannot express.</summary>
public sealed partial record TrainingConfig
{
    partial void OnValidate(ConfigValidator check)
    {
        if (WarmupSteps > 0 && WarmupRatio > 0 && !check.ReadFailed("warmup_steps") && !check.ReadFailed("warmup_ratio"))
            check.Warning("warmup_ratio", $"Both warmup_steps ({WarmupSteps}) and warmup_ratio ({WarmupRatio}) are set; warmup_steps wins. Remove one of them.");
        CheckEvaluation(check);
    }

    /// <summary>The evaluation settings together: the data, when to evaluate, the best checkpoint and early stopping.</summary>
    private void CheckEvaluation(ConfigValidator check)
    {
        if (check.ReadFailed("eval_split") || check.ReadFailed("eval_dataset") || check.ReadFailed("eval_strategy") || check.ReadFailed("eval_steps")
            || check.ReadFailed("load_best_model_at_end") || check.ReadFailed("metric_for_best_model") || check.ReadFailed("early_stopping_patience")
            || check.ReadFailed("save_steps"))
            return;
        var hasData = EvalSplit > 0 || EvalDataset is not null;
        if (EvalSplit > 0 && EvalDataset is not null)
            check.Error("eval_dataset", $"Both eval_dataset and eval_split ({EvalSplit}) are set; evaluation data comes from one of them. Remove eval_split to evaluate on the file, or eval_dataset to hold out a part of dataset.");
        if (EvalStrategy is "steps" or "epoch" && !hasData)
            check.Error("eval_strategy", $"eval_strategy is '{EvalStrategy}', but there is no evaluation data. Set eval_split (for example 0.1) or eval_dataset, or set eval_strategy: \"no\".");
        if (EvalSteps is not null && EvalStrategy == "epoch")
            check.Warning("eval_steps", "eval_steps is set, but eval_strategy is 'epoch', which ignores it. Remove eval_steps, or set eval_strategy: steps.");
        else if (EvalSteps is not null && (EvalStrategy == "no" || (EvalStrategy is null && !hasData)))
            check.Warning("eval_steps", "eval_steps is set, but nothing is evaluated. Set eval_split (for example 0.1) or eval_dataset, or remove eval_steps.");
        else if (EvalStrategy is null && EvalSteps is null && !hasData && PerDeviceEvalBatchSize != 8 && !check.ReadFailed("per_device_eval_batch_size"))
            check.Warning("per_device_eval_batch_size", "per_device_eval_batch_size is set, but nothing is evaluated. Set eval_split or eval_dataset, or remove it.");

        var strategy = EvalStrategy ?? (!hasData ? "no" : EvalSteps is not null ? "steps" : "epoch");
        var evaluates = hasData && strategy != "no";
        if (LoadBestModelAtEnd)
        {
            if (!evaluates)
                check.Error("load_best_model_at_end", "load_best_model_at_end needs evaluation to pick the best checkpoint. Set eval_split (for example 0.1) or eval_dataset, and eval_strategy: steps.");
            else if (strategy != "steps")
                check.Error("load_best_model_at_end", "load_best_model_at_end needs eval_strategy: steps (checkpoints are saved every save_steps steps, so each one must have an evaluation). Set eval_strategy: steps and eval_steps.");
            else if (SaveSteps % (EvalSteps ?? LoggingSteps) != 0)
                check.Error("save_steps", $"With load_best_model_at_end, save_steps ({SaveSteps}) must be a multiple of eval_steps ({EvalSteps ?? LoggingSteps}{(EvalSteps is null ? ", from logging_steps" : "")}), so every checkpoint has an evaluation. Set save_steps to a multiple of it.");
        }
        if (MetricForBestModel is not null && !evaluates)
            check.Error("metric_for_best_model", $"metric_for_best_model is '{MetricForBestModel}', but nothing is evaluated. Set eval_split or eval_dataset, or remove metric_for_best_model.");
        if (MetricForBestModel is "perplexity" or "eval_perplexity" && GreaterIsBetter is null)
            check.Warning("greater_is_better", "metric_for_best_model is perplexity, and greater_is_better defaults to true for metrics not named loss (as in Hugging Face), so the worst checkpoint would count as best. Set greater_is_better: false.");
        if (GreaterIsBetter is not null && MetricForBestModel is null && !LoadBestModelAtEnd && !check.ReadFailed("greater_is_better"))
            check.Warning("greater_is_better", "greater_is_better is set, but no metric_for_best_model is tracked. Set metric_for_best_model, or remove greater_is_better.");
        if (EarlyStoppingPatience is { } patience && !LoadBestModelAtEnd)
            check.Error("early_stopping_patience", $"early_stopping_patience ({patience}) needs load_best_model_at_end: true (as Hugging Face's EarlyStoppingCallback), so the run ends with its best adapter. Set load_best_model_at_end: true with evaluation, or remove early_stopping_patience.");
        if (EarlyStoppingThreshold > 0 && EarlyStoppingPatience is null && !check.ReadFailed("early_stopping_threshold"))
            check.Warning("early_stopping_threshold", "early_stopping_threshold is set, but early_stopping_patience is not, so it does nothing. Set early_stopping_patience, or remove the threshold.");
    }
}
