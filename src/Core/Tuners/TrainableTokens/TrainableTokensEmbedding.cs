using TrainableTokens.Core.Models;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tuners.TrainableTokens;

/// <summary>
/// The input embedding with trainable rows. Cost does not grow with the vocabulary: rows come from the frozen
/// weight, then only positions holding a trained token take the adapter's row (binary search + where). No
/// [vocab, hidden] tensor is built, and gradients exist only for the k trained rows.
/// </summary>
public sealed class TrainableTokensEmbedding : ITokenEmbedding
{
    private readonly ITokenEmbedding _base;
    private readonly TrainableTokensModel _owner;

    public TrainableTokensEmbedding(ITokenEmbedding baseEmbedding, TrainableTokensLayer layer, TrainableTokensModel owner)
    {
        _base = baseEmbedding;
        Layer = layer;
        _owner = owner;
    }

    public TrainableTokensLayer Layer { get; }
    public ITokenEmbedding Base => _base;
    public string Path => _base.Path;
    public Tensor Weight => _base.Weight;

    public Tensor Embed(Tensor ids)
    {
        var frozen = _base.Embed(ids);
        if (!_owner.AdaptersEnabled || Layer.ActiveRows(_owner.ActiveAdapters) is not { } active) return frozen;
        var (sortedIds, sortedRows) = active;
        var position = searchsorted(sortedIds, ids).clamp_max(sortedIds.shape[0] - 1);
        var hit = sortedIds.index_select(0, position.flatten()).view_as(ids).eq(ids);
        var rows = sortedRows.to(frozen.dtype).index_select(0, position.flatten()).view(frozen.shape);
        return where(hit.unsqueeze(-1), rows, frozen);
    }
}
