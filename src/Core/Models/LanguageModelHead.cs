using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>The LM head: hidden states in, vocabulary logits out. Tuners may wrap it (a tied head follows the embedding's trained rows).</summary>
public interface ILanguageModelHead
{
    string Path { get; }

    /// <summary>The weight [vocab, hidden]; for a tied head, the very tensor the input embedding uses.</summary>
    Tensor Weight { get; }

    /// <summary>The bias [vocab] added to the logits, or null (none of the supported architectures has one; Phi-2 does).</summary>
    Tensor? Bias { get; }

    /// <summary>[batch, seq, hidden] to [batch, seq, vocab].</summary>
    Tensor Project(Tensor hidden);
}

/// <summary>A linear head: <c>hidden @ weight^T (+ bias)</c>, as torch.nn.Linear.</summary>
public sealed class LinearHead : ILanguageModelHead
{
    public LinearHead(string path, Tensor weight, Tensor? bias = null)
    {
        Path = path;
        Weight = weight;
        Bias = bias;
    }

    public string Path { get; }
    public Tensor Weight { get; }
    public Tensor? Bias { get; }

    public Tensor Project(Tensor hidden) => nn.functional.linear(hidden, Weight, Bias);
}
