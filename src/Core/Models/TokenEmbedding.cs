using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>
/// A token-embedding module: ids in, vectors out. Tuners replace a model's embedding with a wrapper that reads
/// some rows from elsewhere; the model only ever calls <see cref="Embed"/>.
/// </summary>
public interface ITokenEmbedding
{
    /// <summary>The module's path in Hugging Face naming, e.g. <c>model.embed_tokens</c>.</summary>
    string Path { get; }

    /// <summary>The frozen base weight [vocab, hidden].</summary>
    Tensor Weight { get; }

    /// <summary>Looks up <paramref name="ids"/> [batch, seq] and returns [batch, seq, hidden].</summary>
    Tensor Embed(Tensor ids);
}

/// <summary>The plain embedding table.</summary>
public sealed class EmbeddingTable : ITokenEmbedding
{
    public EmbeddingTable(string path, Tensor weight)
    {
        Path = path;
        Weight = weight;
    }

    public string Path { get; }
    public Tensor Weight { get; }

    public Tensor Embed(Tensor ids) => Weight.index_select(0, ids.flatten()).view(ids.shape[0], ids.shape[1], Weight.shape[1]);
}
