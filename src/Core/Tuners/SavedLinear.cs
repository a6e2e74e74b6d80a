using TrainableTokens.Core.Models;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tuners;

/// <summary>A projection with a modules_to_save copy: output from the active adapter's copy (Conv1D's [in, out] layout kept).</summary>
public sealed class SavedLinear : ILinearLayer
{
    public SavedLinear(ILinearLayer baseLayer, SavedModule module)
    {
        Base = baseLayer;
        Module = module;
    }

    public ILinearLayer Base { get; }
    public SavedModule Module { get; }
    public string Path => Base.Path;
    public Tensor Weight => Base.Weight;
    public Tensor? Bias => Base.Bias;
    public bool FanInFanOut => Base.FanInFanOut;

    public Tensor Forward(Tensor x)
    {
        var (weight, bias, isCopy) = Module.Current();
        if (!isCopy) return Base.Forward(x);
        return nn.functional.linear(x, FanInFanOut ? weight.t() : weight, bias);
    }
}
