using TrainableTokens.Core.Models;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tuners;

/// <summary>The LM head with a modules_to_save copy: logits from the active adapter's copy.</summary>
public sealed class SavedHead : ILanguageModelHead
{
    public SavedHead(ILanguageModelHead baseHead, SavedModule module)
    {
        Base = baseHead;
        Module = module;
    }

    public ILanguageModelHead Base { get; }
    public SavedModule Module { get; }
    public string Path => Base.Path;
    public Tensor Weight => Base.Weight;
    public Tensor? Bias => Base.Bias;

    public Tensor Project(Tensor hidden)
    {
        var (weight, bias, isCopy) = Module.Current();
        return isCopy ? nn.functional.linear(hidden, weight, bias) : Base.Project(hidden);
    }
}
