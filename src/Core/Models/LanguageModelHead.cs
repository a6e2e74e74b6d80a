using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>The LM head: hidden states in, vocabulary logits out. Tuners may wrap it (a tied head follows the embedding's trained rows).</summary>
public interface ILanguageModelHead
{
    string Path { get; }

    /// <summary>The weight [vocab, hidden]; for a tied head, the very tensor the input embedding uses.</summary>
    Tensor Weight { get; }

    /// <summary>[batch, seq, hidden] to [batch, seq, vocab].</summary>
    Tensor Project(Tensor hidden);
}

/// <summary>A bias-free linear head, as every supported architecture has.</summary>
public sealed class LinearHead : ILanguageModelHead
{
    public LinearHead(string path, Tensor weight)
    {
        Path = path;
        Weight = weight;
    }

    public string Path { get; }
    public Tensor Weight { get; }

    public Tensor Project(Tensor hidden) => nn.functional.linear(hidden, Weight);
}
