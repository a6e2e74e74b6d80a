using System.Collections.Generic;
using System.Linq;

namespace TrainableTokens.Core.Tuners.TrainableTokens;

/// <summary>
/// Which weights an adapter trains rows of, by PEFT's rules: the one rule that training, loading, merging and
/// describing adapters share. <see cref="Layers"/> are the module paths with rows of their own (the adapter file's
/// keys); a tied LM head that follows the embedding's rows is <see cref="HeadFollowsEmbedding"/>, and its key in a
/// file, when there (PEFT 0.20+ writes it), must hold the embedding's rows.
/// </summary>
public sealed record TokenTargets(IReadOnlyList<string> Layers, bool HeadFollowsEmbedding, string EmbeddingPath, string HeadPath)
{
    /// <summary>
    /// Resolves <paramref name="targets"/> against a model's input embedding and LM head. Null means the embedding.
    /// With tied weights, a targeted embedding carries the head along (also when lm_head is named too: PEFT then
    /// replaces the head's layer with one tied to the embedding's); a tied model targeting only lm_head gets a head
    /// layer on the shared weight, as PEFT does. Returns null when nothing matches.
    /// </summary>
    public static TokenTargets? Resolve(TargetModules? targets, string embeddingPath, string headPath, bool tied)
    {
        var matched = targets is null
            ? new List<string> { embeddingPath }
            : new[] { embeddingPath, headPath }.Where(targets.Matches).ToList();
        if (matched.Count == 0) return null;
        if (tied && matched.Contains(embeddingPath))
            return new TokenTargets(new[] { embeddingPath }, true, embeddingPath, headPath);
        return new TokenTargets(matched, false, embeddingPath, headPath);
    }

    /// <summary>Whether the LM head's rows are trained: its own layer, or following a tied embedding's.</summary>
    public bool TrainsHead => HeadFollowsEmbedding || Layers.Contains(HeadPath);

    /// <summary>The adapter-file key that may hold a copy of the embedding's rows (the tied head's), or null.</summary>
    public string? TiedCopyKey => HeadFollowsEmbedding ? AdapterFolder.KeyFor(HeadPath) : null;
}
