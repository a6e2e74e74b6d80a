using TrainableTokens.Core.Models;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tuners;

/// <summary>The input embedding with a modules_to_save copy: rows come from the active adapter's copy.</summary>
public sealed class SavedEmbedding : ITokenEmbedding
{
    public SavedEmbedding(ITokenEmbedding baseEmbedding, SavedModule module)
    {
        Base = baseEmbedding;
        Module = module;
    }

    public ITokenEmbedding Base { get; }
    public SavedModule Module { get; }
    public string Path => Base.Path;
    public Tensor Weight => Base.Weight;

    public Tensor Embed(Tensor ids)
    {
        var (weight, _, isCopy) = Module.Current();
        if (!isCopy) return Base.Embed(ids);
        return weight.index_select(0, ids.flatten()).view(ids.shape[0], ids.shape[1], weight.shape[1]);
    }
}
