using System;
using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Runtime;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Training.Data;

/// <summary>
/// Pads examples on the right to the longest one in the batch (optionally to a multiple, for tensor cores) and builds
/// the batch's tensors inside a dispose scope, so only the returned <see cref="Batch"/> owns native memory.
/// </summary>
public sealed class DataCollator
{
    public DataCollator(int padTokenId, int? padToMultipleOf = null)
    {
        if (padToMultipleOf is <= 0) throw new ArgumentException("padToMultipleOf must be positive.", nameof(padToMultipleOf));
        PadTokenId = padTokenId;
        PadToMultipleOf = padToMultipleOf;
    }

    public int PadTokenId { get; }
    public int? PadToMultipleOf { get; }

    public Batch Collate(IReadOnlyList<TokenizedExample> examples, Device? device = null)
    {
        if (examples.Count == 0) throw new ArgumentException("A batch needs at least one example.", nameof(examples));
        TorchRuntime.EnsureLoaded();
        var length = examples.Max(e => e.InputIds.Count);
        if (PadToMultipleOf is { } m) length = (length + m - 1) / m * m;
        long tokens = 0, labelled = 0;
        var ids = new long[examples.Count * length];
        var mask = new long[ids.Length];
        var labels = new long[ids.Length];
        Array.Fill(ids, PadTokenId);
        Array.Fill(labels, TokenizedExample.IgnoreIndex);
        for (var b = 0; b < examples.Count; b++)
        {
            var e = examples[b];
            if (e.InputIds.Count != e.Labels.Count) throw new ArgumentException($"Example {b} has {e.InputIds.Count} ids but {e.Labels.Count} labels.", nameof(examples));
            for (var t = 0; t < e.InputIds.Count; t++)
            {
                ids[b * length + t] = e.InputIds[t];
                mask[b * length + t] = 1;
                labels[b * length + t] = e.Labels[t];
                if (t > 0 && e.Labels[t] != TokenizedExample.IgnoreIndex) labelled++;
            }
            tokens += e.InputIds.Count;
        }
        using var scope = NewDisposeScope();
        var shape = new long[] { examples.Count, length };
        var target = device ?? CPU;
        var batch = new Batch(tensor(ids, shape, device: CPU), tensor(mask, shape, device: CPU), tensor(labels, shape, device: CPU).to(target), tokens, labelled);
        batch.InputIds.MoveToOuterDisposeScope();
        batch.AttentionMask.MoveToOuterDisposeScope();
        batch.Labels.MoveToOuterDisposeScope();
        return batch;
    }
}
