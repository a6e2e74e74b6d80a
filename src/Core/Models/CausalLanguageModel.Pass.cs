using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

public sealed partial class CausalLanguageModel
{
    /// <summary>
    /// Prepares one forward over <paramref name="inputIds"/> [batch, seq] (see <see cref="Forward"/> for the mask and
    /// positions) that the caller runs a step at a time: the embedding, each decoder layer, the final norm, the head.
    /// Training uses it to compute the loss in chunks and to recompute layers in the backward pass. The pass's tensors
    /// belong to the caller's dispose scope; disposing the pass frees its attention masks.
    /// </summary>
    internal ModelPass BeginPass(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null)
    {
        if (inputIds.dim() != 2)
            throw new System.ArgumentException($"Input ids must be [batch, seq]; got shape [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        // Checked before the move: callers pass ids, masks and positions on the CPU, so a GPU forward reads nothing back.
        CheckVocabulary(inputIds);
        var ids = inputIds.to(ScalarType.Int64).to(Device);
        long batch = ids.shape[0], length = ids.shape[1];
        long positionCount = positionIds is null ? length : PositionCount(positionIds);
        var positions = positionIds?.to(ScalarType.Int64).to(Device) ?? arange(length, ScalarType.Int64, Device).unsqueeze(0).expand(batch, length);
        return new ModelPass(this, ids, positions, positionCount, new AttentionMask(attentionMask, length, Dtype, Device));
    }
}
