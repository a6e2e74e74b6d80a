using System.Collections.Generic;
using System.Text.Json.Nodes;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Training;

namespace TrainableTokens.Core.Jobs;

/// <summary>
/// The run's training settings as transformers' <c>TrainingArguments</c> takes them (names checked against
/// transformers 5.17), with every value the engine derives (warm-up steps from warmup_ratio, the total steps, the
/// evaluation strategy, the best-model metric) resolved here, so the job's schedule is the engine's.
/// </summary>
internal static class JobArguments
{
    public static JsonObject For(TrainingConfig train, JobBatching batching, EvaluationPlan eval, List<JobWarning> warnings)
    {
        var args = new JsonObject
        {
            ["output_dir"] = JobLayout.OutputFolder,
            ["learning_rate"] = train.LearningRate,
            ["weight_decay"] = train.WeightDecay,
            ["lr_scheduler_type"] = train.LrSchedulerType,
            ["warmup_steps"] = batching.Plan.WarmupSteps,
            ["max_steps"] = batching.Plan.TotalSteps,
            ["num_train_epochs"] = train.NumTrainEpochs,
            ["per_device_train_batch_size"] = batching.PerDeviceBatchSize,
            ["per_device_eval_batch_size"] = train.PerDeviceEvalBatchSize,
            ["gradient_accumulation_steps"] = batching.GradientAccumulationSteps,
            ["max_grad_norm"] = train.MaxGradNorm,
            ["seed"] = train.Seed,
            ["data_seed"] = train.Seed,
            ["gradient_checkpointing"] = train.GradientCheckpointing,
            ["gradient_checkpointing_kwargs"] = train.GradientCheckpointing ? new JsonObject { ["use_reentrant"] = false } : null,
            ["eval_strategy"] = eval.Strategy,
            ["eval_steps"] = eval.Strategy == "steps" ? eval.Steps : null,
            ["save_strategy"] = "steps",
            ["save_steps"] = train.SaveSteps,
            ["save_total_limit"] = train.SaveTotalLimit,
            ["load_best_model_at_end"] = eval.LoadBestAtEnd,
            ["metric_for_best_model"] = Metric(eval, train, warnings),
            ["greater_is_better"] = eval.Metric is null ? null : Perplexity(eval.Metric) ? false : eval.GreaterIsBetter,
            ["logging_steps"] = train.LoggingSteps,
            ["logging_first_step"] = true,
            ["report_to"] = "none",
            ["remove_unused_columns"] = false,
            ["dataloader_drop_last"] = false,
            ["optim"] = "adamw_torch",
            ["adam_beta1"] = 0.9,
            ["adam_beta2"] = 0.999,
            ["adam_epsilon"] = 1e-8,
            // The model is loaded in the run's dtype and run in it, as the engine runs it: no autocast on top.
            ["bf16"] = false,
            ["fp16"] = false,
        };
        return args;
    }

    private static bool Perplexity(string metric) => metric.EndsWith("perplexity", System.StringComparison.Ordinal);

    /// <summary>Trainer reports no perplexity; as exp(eval_loss) orders checkpoints as eval_loss does, the job ranks by
    /// eval_loss (lower is better), which picks the same best checkpoint.</summary>
    private static string? Metric(EvaluationPlan eval, TrainingConfig train, List<JobWarning> warnings)
    {
        if (eval.Metric is not { } metric) return null;
        if (!Perplexity(metric)) return metric;
        if (eval.GreaterIsBetter)
            warnings.Add(new JobWarning("training.greater_is_better",
                "greater_is_better is true for a perplexity metric, which keeps the worst checkpoint; the job ranks by eval_loss with lower as better."));
        if (train.EarlyStoppingPatience is not null && train.EarlyStoppingThreshold > 0)
            warnings.Add(new JobWarning("training.early_stopping_threshold",
                $"early_stopping_threshold {train.EarlyStoppingThreshold} is a perplexity difference here; the job ranks by eval_loss, so Trainer's " +
                "EarlyStoppingCallback applies it to eval_loss instead. Set it as an eval_loss difference, or 0."));
        return "eval_loss";
    }
}
