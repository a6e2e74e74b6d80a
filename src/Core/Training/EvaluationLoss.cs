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
    /// <summary>Summed over the batch's labelled positions (a float32 scalar tensor), over chunks of positions
    /// (<see cref="ChunkedCrossEntropy"/>). Training's backward goes through <see cref="BatchBackward"/>, the same loss.</summary>
    public static Tensor Summed(CausalLanguageModel model, Batch batch)
    {
        using var scope = NewDisposeScope();
        using var pass = model.BeginPass(batch.InputIds, batch.AttentionMask);
        var h = pass.Embed();
        for (int l = 0; l < pass.LayerCount; l++) h = pass.Layer(l, h);
        return ChunkedCrossEntropy.Sum(pass, pass.Final(h), batch.Labels).MoveToOuterDisposeScope();
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
