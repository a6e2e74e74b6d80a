using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Training;

/// <summary>One optimiser step's loss (NaN when no token had a label) and gradient norm, as read back.</summary>
internal readonly record struct StepValues(int Step, double Loss, bool HasLabels, double? GradNorm);

/// <summary>
/// Holds each step's loss sums and gradient norm on the device until the loop needs them (a logging, evaluation or
/// checkpoint step, the last step), then reads them all back at once: a GPU run waits for the device there only, not
/// on every step. The arithmetic on the host is the same as reading each step at once would give.
/// </summary>
internal sealed class StepReadback : IDisposable
{
    private readonly List<(int Step, Tensor? Sums, long Labelled, Tensor? Norm)> _pending = new();

    public int Count => _pending.Count;

    /// <summary>Takes ownership of <paramref name="sums"/> (the float32 loss sums of the step's micro-batches) and <paramref name="norm"/>.</summary>
    public void Add(int step, Tensor? sums, long labelled, Tensor? norm) => _pending.Add((step, sums, labelled, norm));

    /// <summary>The pending steps' values, oldest first, in one transfer from the device; the pending list is emptied.</summary>
    public IReadOnlyList<StepValues> Read()
    {
        if (_pending.Count == 0) return Array.Empty<StepValues>();
        var result = new List<StepValues>(_pending.Count);
        try
        {
            float[] values;
            using (var scope = NewDisposeScope())
            {
                var parts = _pending.SelectMany(p => new[] { p.Sums, p.Norm }).OfType<Tensor>().Select(t => t.to(ScalarType.Float32).reshape(-1)).ToArray();
                values = parts.Length == 0 ? Array.Empty<float>() : cat(parts).cpu().data<float>().ToArray(); // sync: once per logging interval
            }
            int at = 0;
            foreach (var (step, sums, labelled, norm) in _pending)
            {
                double total = 0;
                long n = sums?.numel() ?? 0;
                for (long i = 0; i < n; i++) total += values[at++];
                double? gradNorm = norm is null ? null : values[at++];
                bool hasLabels = sums is not null && labelled > 0;
                result.Add(new StepValues(step, hasLabels ? total / labelled : double.NaN, hasLabels, gradNorm));
            }
        }
        finally
        {
            Dispose();
        }
        return result;
    }

    public void Dispose()
    {
        foreach (var (_, sums, _, norm) in _pending)
        {
            sums?.Dispose();
            norm?.Dispose();
        }
        _pending.Clear();
    }
}
