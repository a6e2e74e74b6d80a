using System;
using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Models;

namespace TrainableTokens.Core.Preflight;

/// <summary>
/// What trainable_tokens.target_modules may select, before training: the input embedding, the LM head, or both (PEFT's
/// <c>[embed_tokens, lm_head]</c>, which trains an untied head's rows too; a tied head follows the embedding's rows).
/// Any other module is an error, and so is lm_head alone on a tied model, whose trained rows would replace the
/// embedding's too when merged. Loading, merging and Get-TokenAdapter apply the same rule (TokenTargets).
/// </summary>
internal static class TargetModuleCheck
{
    /// <summary>Reports into <paramref name="tokens"/> under "target_modules"; <paramref name="weights"/> are the checkpoint's tensor names.</summary>
    public static void Check(StringOrList? targets, ModelConfig model, IReadOnlyList<string> weights, ConfigValidator tokens)
    {
        var embedding = ModelArchitectures.InputEmbeddingPath(model.ModelType);
        var head = ModelArchitectures.LmHeadPath(model.ModelType);
        var modules = TargetModuleMatcher.ModulePaths(weights.Select(w => ModelArchitectures.ModuleName(model.ModelType, w)), new[] { head });
        IReadOnlyList<string> selected;
        try
        {
            selected = TargetModuleMatcher.Select(targets, modules, embedding);
        }
        catch (ArgumentException e)
        {
            tokens.Error("target_modules", $"target_modules '{targets}' is not a valid regular expression: {e.Message}");
            return;
        }
        if (selected.Count == 0)
        {
            tokens.Error("target_modules",
                $"target_modules {Describe(targets)} matches no module of this {model.ModelType} model. Its input embedding is '{embedding}' and its LM head '{head}'; " +
                "remove target_modules (or set it to null) to use the embedding.");
            return;
        }
        var others = selected.Where(m => m != embedding && m != head).ToList();
        if (others.Count > 0)
        {
            var named = string.Join(", ", others.Take(3).Select(m => $"'{m}'")) + (others.Count > 3 ? $" and {others.Count - 3} more" : "");
            tokens.Error("target_modules",
                $"target_modules selects {named}, which {(others.Count == 1 ? "is" : "are")} not the input embedding or the LM head. Trainable Tokens trains rows of '{embedding}'" +
                (model.TieWordEmbeddings ? " (the tied LM head follows it)" : $" and, when '{head}' is named too, of the untied LM head") +
                ". Remove target_modules to use the embedding" + (model.TieWordEmbeddings ? "." : $", or give [{Last(embedding)}, {head}] to train the head's rows as well."));
            return;
        }
        if (model.TieWordEmbeddings && !selected.Contains(embedding))
            tokens.Error("target_modules",
                $"target_modules {Describe(targets)} selects only '{head}', which this model ties to '{embedding}' (tie_word_embeddings: true): the head's trained rows " +
                $"would replace the embedding's too when merged, so the merged model would differ from the trained one. Target '{embedding}' (remove target_modules); the tied head follows its rows.");
    }

    private static string Last(string path) => path[(path.LastIndexOf('.') + 1)..];

    private static string Describe(StringOrList? targets) => targets is null ? "(the default)" : targets.IsList ? $"[{string.Join(", ", targets.Items!)}]" : $"'{targets.Text}'";
}
