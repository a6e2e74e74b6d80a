using System.Linq;
using TrainableTokens.Core.Models;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tuners.TrainableTokens;

/// <summary>
/// An LM head whose rows for some tokens come from adapters: a tied head shows the embedding layer's rows, a targeted
/// head (untied, or lm_head alone on a tied model, as PEFT wraps it) its own layer's. Logits come from the frozen
/// weight, then only the k trained columns are overwritten (in place) with <c>h @ rows^T + bias[ids]</c>, so no
/// [vocab, hidden] copy of the weight is made and the head's bias stays where the model has one.
/// </summary>
public sealed class TrainableTokensHead : ILanguageModelHead
{
    private readonly ILanguageModelHead _base;
    private readonly TrainableTokensModel _owner;

    public TrainableTokensHead(ILanguageModelHead baseHead, TrainableTokensModel owner)
    {
        _base = baseHead;
        _owner = owner;
    }

    public ILanguageModelHead Base => _base;
    public string Path => _base.Path;
    public Tensor Weight => _base.Weight;
    public Tensor? Bias => _base.Bias;

    public Tensor Project(Tensor hidden)
    {
        var logits = _base.Project(hidden);
        if (!_owner.AdaptersEnabled) return logits;
        var active = _owner.HeadRows();
        if (active.Count == 0) return logits;
        var (ids, rows) = active.Count == 1
            ? active[0]
            : (cat(active.Select(a => a.SortedIds).ToArray()), cat(active.Select(a => a.SortedRows).ToArray()));
        var columns = nn.functional.linear(hidden, rows.to(hidden.dtype), _base.Bias?.index_select(0, ids).to(hidden.dtype));
        // In place: the matmul that made the logits does not need them for its backward, and an out-of-place copy
        // would add a [batch, seq, vocab] tensor, which grows with the vocabulary.
        return logits.index_copy_(-1, ids, columns);
    }
}
