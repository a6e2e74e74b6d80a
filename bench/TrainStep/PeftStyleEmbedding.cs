using TrainableTokens.Core.Models;
using static TorchSharp.torch;

namespace TrainStep;

/// <summary>
/// PEFT's formulation, kept here for comparison only: every forward builds the full [vocab, hidden] matrix with the
/// k rows replaced (index_copy), then embeds from it and, for a tied head, projects with it. Its backward therefore
/// materialises a [vocab, hidden] gradient before the k rows' gradient is taken from it.
/// </summary>
internal sealed class PeftStyleEmbedding : ITokenEmbedding, ILanguageModelHead
{
    private readonly Tensor _weight;
    private readonly Tensor _index;
    private readonly Tensor _rows;

    public PeftStyleEmbedding(string path, Tensor weight, Tensor index, Tensor rows)
    {
        Path = path;
        _weight = weight;
        _index = index;
        _rows = rows;
    }

    public string Path { get; }
    public Tensor Weight => _weight;
    public Tensor? Bias => null;

    private Tensor Merged() => _weight.index_copy(0, _index, _rows.to(_weight.dtype));

    public Tensor Embed(Tensor ids)
    {
        var merged = Merged();
        return merged.index_select(0, ids.flatten()).view(ids.shape[0], ids.shape[1], merged.shape[1]);
    }

    public Tensor Project(Tensor hidden) => nn.functional.linear(hidden, Merged());
}
