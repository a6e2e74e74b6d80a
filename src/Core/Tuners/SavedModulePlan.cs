using System;
using System.Collections.Generic;
using System.Linq;

namespace TrainableTokens.Core.Tuners;

/// <summary>
/// Which modules a config's modules_to_save copies, by PEFT's rule (a module whose name ends with a listed name), and how
/// a tied model's embedding and head share a copy: with ensure_weight_tying, naming either gives the embedding one copy
/// that the head follows (PEFT's modules_to_tie); without it each named one gets its own copy and PEFT warns.
/// </summary>
public sealed record SavedModulePlan(IReadOnlyList<string> Paths, string? TiedHeadPath, IReadOnlyList<string> Warnings)
{
    /// <summary>Only the input embedding, the LM head and the projections can be copied here.</summary>
    public static SavedModulePlan Make(IReadOnlyList<string>? modulesToSave, string source, string embedding, string head,
        IReadOnlyList<string> linears, IReadOnlyList<string> allModules, bool tied, bool ensureWeightTying)
    {
        if (modulesToSave is not { Count: > 0 }) return new(Array.Empty<string>(), null, Array.Empty<string>());
        var supported = new[] { embedding, head }.Concat(linears).ToList();
        var paths = new List<string>();
        foreach (var name in modulesToSave)
        {
            var other = allModules.Where(m => m.EndsWith(name, StringComparison.Ordinal) && !supported.Contains(m)).ToList();
            if (other.Count > 0)
                throw new InvalidAdapterException(
                    $"'{source}': modules_to_save '{name}' selects {TokenIndexCheck.Few(other, 3)}; only the input embedding ({embedding}), the LM head ({head}) and linear projections " +
                    "can be saved whole here. Remove it, or name one of those.", source);
            var matched = supported.Where(m => m.EndsWith(name, StringComparison.Ordinal)).ToList();
            if (matched.Count == 0)
                throw new InvalidAdapterException(
                    $"'{source}': modules_to_save '{name}' matches no module of the model. Its embedding is {embedding}, its LM head {head}, its projections e.g. {TokenIndexCheck.Few(linears, 3)}.", source);
            paths.AddRange(matched.Where(m => !paths.Contains(m)));
        }
        var warnings = new List<string>();
        string? tiedHead = null;
        var namesEmbedding = paths.Contains(embedding) || paths.Contains(head);
        if (tied && namesEmbedding && ensureWeightTying)
        {
            // PEFT's _add_modules_to_save_to_tie: the embedding is copied, the head follows that copy.
            paths.Remove(head);
            if (!paths.Contains(embedding)) paths.Insert(0, embedding);
            tiedHead = head;
        }
        else if (tied && namesEmbedding)
            warnings.Add("The model ties its LM head to the input embedding (tie_word_embeddings: true) and modules_to_save copies one of them, but ensure_weight_tying is false: " +
                "the copies are trained apart, which complicates merging. Set ensure_weight_tying to true to keep them tied.");
        return new(paths, tiedHead, warnings);
    }
}
