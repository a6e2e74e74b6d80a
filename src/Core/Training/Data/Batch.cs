using System;
using TorchSharp;

namespace TrainableTokens.Core.Training.Data;

/// <summary>
/// One training batch, padded on the right: <see cref="InputIds"/>, <see cref="AttentionMask"/> (1 for tokens, 0 for
/// padding) and <see cref="Labels"/> (-100 on padding and prompts), all int64 [batch, length]. Owns its tensors.
/// The ids and the mask stay on the CPU, where the model checks them before moving them (a GPU forward then reads
/// nothing back); the labels are on the training device, where the loss uses them. The counts come from the host.
/// </summary>
public sealed class Batch : IDisposable
{
    internal Batch(torch.Tensor inputIds, torch.Tensor attentionMask, torch.Tensor labels, long tokenCount, long labelledCount)
    {
        InputIds = inputIds;
        AttentionMask = attentionMask;
        Labels = labels;
        TokenCount = tokenCount;
        LabelledCount = labelledCount;
    }

    /// <summary>Positions that are tokens, not padding (the mask's sum).</summary>
    public long TokenCount { get; }

    /// <summary>Positions with a label to predict: every position after the first whose label is not -100.</summary>
    public long LabelledCount { get; }

    public torch.Tensor InputIds { get; }
    public torch.Tensor AttentionMask { get; }
    public torch.Tensor Labels { get; }
    public long Size => InputIds.shape[0];
    public long Length => InputIds.shape[1];

    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        Labels.Dispose();
    }
}
