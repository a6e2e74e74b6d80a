using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>torch.nn.Linear: <c>x @ weight^T (+ bias)</c>, weight [out, in].</summary>
public sealed class LinearLayer : ILinearLayer
{
    public LinearLayer(string path, Tensor weight, Tensor? bias)
    {
        Path = path;
        Weight = weight;
        Bias = bias;
    }

    public string Path { get; }
    public Tensor Weight { get; }
    public Tensor? Bias { get; }
    public bool FanInFanOut => false;

    public Tensor Forward(Tensor x) => nn.functional.linear(x, Weight, Bias);
}
