using System;
using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Core.Training;

/// <summary>When a run evaluates and how it picks its best checkpoint, resolved from the training settings with
/// Hugging Face's defaults (eval_steps from logging_steps, metric eval_loss with load_best_model_at_end, greater_is_better
/// false for a metric named loss).</summary>
internal sealed record EvaluationPlan(string Strategy, int Steps, string? Metric, bool GreaterIsBetter, bool LoadBestAtEnd, int? Patience, double Threshold)
{
    public bool Enabled => Strategy != "no";

    public static EvaluationPlan For(TrainingConfig train, bool hasData)
    {
        var strategy = !hasData ? "no" : train.EvalStrategy ?? (train.EvalSteps is not null ? "steps" : "epoch");
        var metric = train.MetricForBestModel ?? (train.LoadBestModelAtEnd ? "eval_loss" : null);
        if (metric is not null && !metric.StartsWith("eval_", StringComparison.Ordinal)) metric = "eval_" + metric;
        var greater = train.GreaterIsBetter ?? (metric is not null && !metric.EndsWith("loss", StringComparison.Ordinal));
        return new EvaluationPlan(strategy, train.EvalSteps ?? train.LoggingSteps, strategy == "no" ? null : metric, greater,
            train.LoadBestModelAtEnd && strategy != "no", train.EarlyStoppingPatience, train.EarlyStoppingThreshold);
    }

    /// <summary>True when the evaluation after <paramref name="step"/> is due (the last step is always evaluated).</summary>
    public bool IsDue(int step, bool epochEnded, bool last) =>
        Enabled && (last || (Strategy == "steps" && step % Steps == 0) || (Strategy == "epoch" && epochEnded));

    /// <summary>True when <paramref name="value"/> is better than <paramref name="best"/> by more than <paramref name="margin"/>.</summary>
    public bool Better(double value, double? best, double margin = 0) =>
        best is not { } b || (GreaterIsBetter ? value > b && value - b > margin : value < b && b - value > margin);
}
