using System;
using TorchSharp;

namespace TrainableTokens.Core.Training.Data;

/// <summary>
/// One training batch, padded on the right: <see cref="InputIds"/>, <see cref="AttentionMask"/> (1 for tokens, 0 for
/// padding) and <see cref="Labels"/> (-100 on padding and prompts), all int64 [batch, length]. Owns its tensors.
/// </summary>
public sealed class Batch : IDisposable
{
    internal Batch(torch.Tensor inputIds, torch.Tensor attentionMask, torch.Tensor labels)
    {
        InputIds = inputIds;
        AttentionMask = attentionMask;
        Labels = labels;
    }

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
