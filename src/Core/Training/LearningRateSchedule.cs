using System;

namespace TrainableTokens.Core.Training;

/// <summary>
/// The learning rate at each optimiser step, as Hugging Face's <c>get_scheduler</c> computes it: linear warm-up from 0
/// over <see cref="WarmupSteps"/>, then linear decay to 0, half a cosine to 0, or constant. Step 0 is the first step.
/// </summary>
public sealed record LearningRateSchedule(string Type, double PeakLearningRate, int WarmupSteps, int TotalSteps)
{
    public static readonly string[] Types = { "linear", "cosine", "constant", "constant_with_warmup" };

    /// <summary>Warm-up steps as Hugging Face counts them: <paramref name="warmupSteps"/> when above 0, else ceil(ratio x total).</summary>
    public static int WarmupFor(int warmupSteps, double warmupRatio, int totalSteps) =>
        warmupSteps > 0 ? warmupSteps : (int)Math.Ceiling(totalSteps * warmupRatio);

    /// <summary>The factor of the peak rate at <paramref name="step"/> (0-based).</summary>
    public double Factor(int step)
    {
        var warmup = Type == "constant" ? 0 : WarmupSteps;
        if (step < warmup) return (double)step / Math.Max(1, warmup);
        switch (Type)
        {
            case "constant":
            case "constant_with_warmup":
                return 1.0;
            case "linear":
                return Math.Max(0.0, (double)(TotalSteps - step) / Math.Max(1, TotalSteps - warmup));
            case "cosine":
                var progress = (double)(step - warmup) / Math.Max(1, TotalSteps - warmup);
                return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * progress)));
            default:
                throw new ArgumentException($"Unknown lr_scheduler_type '{Type}'. Use one of: {string.Join(", ", Types)}.");
        }
    }

    /// <summary>The learning rate at <paramref name="step"/> (0-based).</summary>
    public double At(int step) => PeakLearningRate * Factor(step);
}
