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
        var ids = inputIds.to(ScalarType.Int64).to(Device);
        CheckVocabulary(ids);
        long batch = ids.shape[0], length = ids.shape[1];
        var positions = positionIds?.to(ScalarType.Int64).to(Device) ?? arange(length, ScalarType.Int64, Device).unsqueeze(0).expand(batch, length);
        return new ModelPass(this, ids, positions, new AttentionMask(attentionMask?.to(Device), length, Dtype, Device));
    }
}
