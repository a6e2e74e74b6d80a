using System.Collections.Generic;
using System.Linq;

namespace TrainableTokens.Core.Tuners.TrainableTokens;

/// <summary>
/// Where one adapter's trainable rows live: per module path (the input embedding, the LM head) the token ids it trains
/// there, and whether a tied LM head shows the embedding's rows (PEFT's tied_adapter). A Trainable Tokens adapter has
/// the same ids on every layer; LoRA's trainable_token_indices map may give the embedding and an untied (or
/// deliberately separate) head different ids.
/// </summary>
public sealed record TokenLayout(IReadOnlyList<KeyValuePair<string, IReadOnlyList<long>>> Layers, bool HeadFollowsEmbedding)
{
    /// <summary>Every id the adapter trains, on any layer, each once.</summary>
    public IReadOnlyList<long> AllIds => Layers.SelectMany(l => l.Value).Distinct().ToList();

    public IReadOnlyList<long>? IdsOf(string path) => Layers.FirstOrDefault(l => l.Key == path).Value;

    /// <summary>The same ids on each of <paramref name="paths"/>.</summary>
    public static TokenLayout Same(IEnumerable<string> paths, IReadOnlyList<long> ids, bool headFollowsEmbedding) =>
        new(paths.Select(p => new KeyValuePair<string, IReadOnlyList<long>>(p, ids)).ToList(), headFollowsEmbedding);
}
