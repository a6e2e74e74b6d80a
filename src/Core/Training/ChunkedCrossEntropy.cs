using System;
using System.Collections.Generic;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Training.Data;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Training;

/// <summary>
/// Next-token cross-entropy (float32, summed over labelled positions, -100 ignored) computed over chunks of positions:
/// final hidden states -> head -> log-softmax one chunk at a time, so the [batch, seq, vocab] logits and their gradient
/// never exist whole (at a 128k vocabulary they are 0.5 MiB a token each in float32). Each position's loss is the
/// same computation as over the whole batch, so the value and every gradient are unchanged; the head's frozen weight
/// gets no gradient, only the hidden states (and a trainable-tokens head's k rows).
/// </summary>
internal static class ChunkedCrossEntropy
{
    /// <summary>Logit elements per chunk (64 MiB in float32): 130 positions at a 128,256 vocabulary, 524 at 32,000.</summary>
    internal const long ElementsPerChunk = 1L << 24;

    /// <summary>Tests set this (on their own thread) to force small chunks.</summary>
    [ThreadStatic] internal static long? PositionsPerChunkOverride;

    internal static long PositionsPerChunk(long vocab) => PositionsPerChunkOverride ?? Math.Max(1, ElementsPerChunk / Math.Max(1, vocab));

    /// <summary>The summed loss of <paramref name="final"/> [batch, seq, hidden] against <paramref name="labels"/>
    /// [batch, seq] (position t predicts label t+1), as a float32 scalar; with gradients when they are on and
    /// <paramref name="final"/> or the head needs them (but then the chunks' logits stay alive for backward: use
    /// <see cref="Backward"/> to train).</summary>
    public static Tensor Sum(ModelPass pass, Tensor final, Tensor labels)
    {
        var (positions, targets) = Shifted(final, labels);
        var total = zeros(Array.Empty<long>(), ScalarType.Float32, final.device);
        foreach (var (start, length) in Chunks(pass, positions))
        {
            using var scope = NewDisposeScope();
            total = total.add(Loss(pass, positions, targets, start, length)).MoveToOuterDisposeScope();
        }
        return total;
    }

    /// <summary>
    /// The summed loss of <paramref name="final"/> (a leaf that requires grad) and its backward, chunk by chunk, of
    /// <c>loss / <paramref name="divisor"/></c>: the gradient collects in <c>final.grad</c> (and in a trainable head's
    /// rows); only one chunk's logits are alive at a time. Returns the summed loss, detached, float32.
    /// </summary>
    public static Tensor Backward(ModelPass pass, Tensor final, Tensor labels, long divisor)
    {
        if (!final.requires_grad) throw new ArgumentException("The hidden states must require grad to collect the loss's gradient.", nameof(final));
        var (positions, targets) = Shifted(final, labels);
        var total = zeros(Array.Empty<long>(), ScalarType.Float32, final.device);
        foreach (var (start, length) in Chunks(pass, positions))
        {
            using var scope = NewDisposeScope();
            var loss = Loss(pass, positions, targets, start, length);
            (loss / divisor).backward();
            total = total.add(loss.detach()).MoveToOuterDisposeScope();
        }
        return total;
    }

    /// <summary>Every position, flattened, and the label it predicts (the next one's; the last position of each row has
    /// none, -100, so it adds nothing): chunks are then plain ranges of rows.</summary>
    private static (Tensor Positions, Tensor Targets) Shifted(Tensor final, Tensor labels)
    {
        var positions = final.reshape(-1, final.shape[^1]);
        var next = labels.to(ScalarType.Int64).to(final.device)[.., 1..];
        var none = full(new[] { next.shape[0], 1L }, TokenizedExample.IgnoreIndex, ScalarType.Int64, final.device);
        return (positions, cat(new[] { next, none }, 1).reshape(-1));
    }

    private static IEnumerable<(long Start, long Length)> Chunks(ModelPass pass, Tensor positions)
    {
        long count = positions.shape[0], size = PositionsPerChunk(pass.VocabSize);
        for (long start = 0; start < count; start += size) yield return (start, Math.Min(size, count - start));
    }

    private static Tensor Loss(ModelPass pass, Tensor positions, Tensor targets, long start, long length)
    {
        var logits = pass.Logits(positions.narrow(0, start, length)).to(ScalarType.Float32);
        return nn.functional.cross_entropy(logits, targets.narrow(0, start, length), ignore_index: TokenizedExample.IgnoreIndex, reduction: nn.Reduction.Sum);
    }
}
