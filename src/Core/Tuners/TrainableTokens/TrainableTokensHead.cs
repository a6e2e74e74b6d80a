using TrainableTokens.Core.Models;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tuners.TrainableTokens;

/// <summary>
/// An LM head whose rows for some tokens come from an adapter: the tied head follows the embedding's layer, an
/// explicitly targeted untied head has its own. Logits come from the frozen weight, then only the k trained
/// columns are overwritten (in place) with h @ rows^T, so no [vocab, hidden] copy of the weight is made.
/// </summary>
public sealed class TrainableTokensHead : ILanguageModelHead
{
    private readonly ILanguageModelHead _base;
    private readonly TrainableTokensModel _owner;

    public TrainableTokensHead(ILanguageModelHead baseHead, TrainableTokensLayer layer, TrainableTokensModel owner, bool tied)
    {
        _base = baseHead;
        Layer = layer;
        _owner = owner;
        IsTied = tied;
    }

    public TrainableTokensLayer Layer { get; }
    public bool IsTied { get; }
    public ILanguageModelHead Base => _base;
    public string Path => _base.Path;
    public Tensor Weight => _base.Weight;

    public Tensor Project(Tensor hidden)
    {
        var logits = _base.Project(hidden);
        if (!_owner.AdaptersEnabled || Layer.ActiveRows(_owner.ActiveAdapters) is not { } active) return logits;
        var (sortedIds, sortedRows) = active;
        var columns = nn.functional.linear(hidden, sortedRows.to(hidden.dtype));
        // In place: the matmul that made the logits does not need them for its backward, and an out-of-place copy
        // would add a [batch, seq, vocab] tensor, which grows with the vocabulary.
        return logits.index_copy_(-1, sortedIds, columns);
    }
}
