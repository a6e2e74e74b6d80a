using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>Hugging Face's Conv1D (GPT-2): <c>x @ weight + bias</c> with the weight stored [in, out] and always a bias.</summary>
public sealed class Conv1DLayer : ILinearLayer
{
    private readonly Tensor _bias;

    public Conv1DLayer(string path, Tensor weight, Tensor bias)
    {
        Path = path;
        Weight = weight;
        _bias = bias;
    }

    public string Path { get; }
    public Tensor Weight { get; }
    public Tensor? Bias => _bias;
    public bool FanInFanOut => true;

    public Tensor Forward(Tensor x)
    {
        var shape = (long[])x.shape.Clone();
        shape[^1] = Weight.shape[1];
        return _bias.addmm(x.reshape(-1, x.shape[^1]), Weight).view(shape);
    }
}
