using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>
/// What a forward pass returns. <see cref="HiddenStates"/> follows Hugging Face: entry 0 is the embedding output
/// (after any scaling or position embeddings), entry i the output of layer i, the last one after the final norm.
/// Empty unless hidden states were requested.
/// </summary>
public sealed class ModelOutput : IDisposable
{
    public ModelOutput(Tensor logits, IReadOnlyList<Tensor> hiddenStates)
    {
        Logits = logits;
        HiddenStates = hiddenStates;
    }

    /// <summary>[batch, seq, vocab] in the model's dtype.</summary>
    public Tensor Logits { get; }

    public IReadOnlyList<Tensor> HiddenStates { get; }

    public void Dispose()
    {
        Logits.Dispose();
        foreach (var h in HiddenStates) h.Dispose();
    }
}
