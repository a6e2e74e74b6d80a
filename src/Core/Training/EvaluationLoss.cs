using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Training.Data;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Training;

/// <summary>
/// The loss the trainer reports: next-token cross-entropy over every labelled position (-100 ignored), in float32.
/// Training, evaluation and Measure-TokenModel all compute it here, so their numbers agree for the same data.
/// </summary>
internal static class EvaluationLoss
{
    /// <summary>Summed over the batch's labelled positions (a scalar tensor, with gradients when they are on).</summary>
    public static Tensor Summed(CausalLanguageModel model, Batch batch)
    {
        using var output = model.Forward(batch.InputIds, batch.AttentionMask);
        var vocab = output.Logits.shape[^1];
        var logits = output.Logits[.., ..^1, ..].to(ScalarType.Float32).reshape(-1, vocab);
        var labels = batch.Labels[.., 1..].reshape(-1);
        return nn.functional.cross_entropy(logits, labels, ignore_index: TokenizedExample.IgnoreIndex, reduction: nn.Reduction.Sum);
    }

    /// <summary>How many positions of <paramref name="batch"/> have a label (the first token of each example has none).</summary>
    public static long Labelled(Batch batch) => batch.LabelledCount;

    /// <summary>The summed loss and the labelled count over <paramref name="batches"/>, without gradients; each batch is disposed.</summary>
    public static (double Total, long Labelled) Over(CausalLanguageModel model, IEnumerable<Batch> batches)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // Each batch's float32 sum stays on the device until the end: one read back, not one per batch. They are
        // added in double in batch order, as before.
        var sums = new List<Tensor>();
        long labelled = 0;
        foreach (var batch in batches)
        {
            using (batch)
            {
                using var inner = NewDisposeScope();
                labelled += Labelled(batch);
                sums.Add(Summed(model, batch).detach().MoveToOuterDisposeScope());
            }
        }
        double total = 0;
        if (sums.Count > 0)
            foreach (var sum in stack(sums.ToArray()).to(ScalarType.Float32).cpu().data<float>().ToArray()) total += sum; // sync: once per evaluation
        return (total, labelled);
    }
}
