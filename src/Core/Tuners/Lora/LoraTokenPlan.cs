using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Core.Tuners.Lora;

/// <summary>
/// Where LoRA's trainable_token_indices put rows, by PEFT's table (peft/utils/other.py, set_additional_trainable_modules):
/// a list is the input embedding's; a map names modules by suffix. On a tied model the head follows the embedding's
/// rows, unless a map gives the head other ids: then both are kept separate, or, with ensure_weight_tying, that is an
/// error. Everything is checked here, before any tensor is made.
/// </summary>
internal static class LoraTokenPlan
{
    public sealed record Plan(TokenLayout Layout, IReadOnlyList<string> Warnings);

    /// <summary>Null when the config has no trainable tokens. <paramref name="saved"/> are the modules_to_save paths,
    /// <paramref name="loraTargets"/> whether LoRA's target_modules names a path; <paramref name="isOtherModule"/> whether
    /// a name is some other module of the model (for the message).</summary>
    public static Plan? Make(LoraConfig config, string source, string embedding, string head, bool tied, long vocabSize,
        IReadOnlyCollection<string> saved, System.Func<string, bool> loraTargets, System.Func<string, bool> isOtherModule)
    {
        const string field = "trainable_token_indices";
        if (config.TrainableTokenIndices is null && config.TrainableTokenIndicesByModule is null) return null;
        var requested = config.TrainableTokenIndicesByModule
            ?? new[] { new KeyValuePair<string, IReadOnlyList<long>>(embedding, config.TrainableTokenIndices!) };
        var layers = new List<KeyValuePair<string, IReadOnlyList<long>>>();
        var keyOf = new Dictionary<string, string>();
        foreach (var (key, ids) in requested)
        {
            var where = config.TrainableTokenIndicesByModule is null ? field : $"{field}.{key}";
            // PEFT's _set_trainable takes the module whose name ends with the key.
            var path = embedding.EndsWith(key, System.StringComparison.Ordinal) ? embedding
                : head.EndsWith(key, System.StringComparison.Ordinal) ? head : null;
            if (path is null)
                throw new InvalidAdapterException(isOtherModule(key)
                    ? $"'{source}': {where} names '{key}', which is not an embedding module; trainable tokens go only on {embedding} or {head}. Use one of those."
                    : $"'{source}': {where}: target module '{key}' was not found in the base model. Its embedding modules are {embedding} and {head}; name one of those.", source);
            if (keyOf.TryGetValue(path, out var earlier))
                throw new InvalidAdapterException($"'{source}': {field} names {path} twice ('{earlier}' and '{key}'); give its ids once.", source);
            keyOf[path] = key;
            if (ids.Count == 0) throw new InvalidAdapterException($"'{source}': {where} is empty; give at least one token id, or remove it.", source);
            var outside = TokenIndexCheck.Outside(ids, vocabSize);
            if (outside.Count > 0)
                throw new InvalidAdapterException(
                    $"'{source}': {where} has token ids {TokenIndexCheck.Few(outside)} outside the model's vocabulary (0 to {vocabSize - 1}). " +
                    "Add the tokens and resize the model first (Add-TokenizerToken), or use the model the adapter was made for.", source);
            var repeated = TokenIndexCheck.Repeated(ids);
            if (repeated.Count > 0)
                throw new InvalidAdapterException($"'{source}': {where} lists token ids {TokenIndexCheck.Few(repeated)} more than once; list each id once.", source);
            // PEFT: "The embedding layer is already marked to be trained fully" (a module is either copied whole or has rows).
            if (saved.Contains(path))
                throw new InvalidAdapterException(
                    $"'{source}': {path} is in both modules_to_save and {field}. The embedding layer is already marked to be trained fully: " +
                    $"keep it in modules_to_save or in {field}, not both.", source);
            // PEFT refuses a training wrapper over a LoRA layer ("trainable_token_indices cannot be applied to modules of type lora...").
            if (loraTargets(path))
                throw new InvalidAdapterException(
                    $"'{source}': target_modules gives {path} a LoRA layer and {field} gives it trainable rows; PEFT refuses both on one module. " +
                    $"Remove {path} from target_modules (the rows train its new tokens).", source);
            layers.Add(new(path, ids));
        }

        var warnings = new List<string>();
        bool mismatch = false;
        var embeddingIds = layers.FirstOrDefault(l => l.Key == embedding).Value;
        var headIds = layers.FirstOrDefault(l => l.Key == head).Value;
        if (tied && embeddingIds is not null && headIds is not null)
        {
            // PEFT compares the lists as written (order included).
            mismatch = !embeddingIds.SequenceEqual(headIds);
            if (mismatch && config.EnsureWeightTying)
                throw new InvalidAdapterException(
                    $"'{source}': cannot ensure weight tying when {field} gives the tied layers different token ids ({keyOf[embedding]}: [{TokenIndexCheck.Few(embeddingIds)}], " +
                    $"{keyOf[head]}: [{TokenIndexCheck.Few(headIds)}]). Give both the same ids, or set ensure_weight_tying to false to train them separately.", source);
            // Same ids: the head follows the embedding's rows instead of holding its own.
            if (!mismatch) layers.RemoveAll(l => l.Key == head);
        }
        if (config.EnsureWeightTying && !tied)
            warnings.Add($"ensure_weight_tying is true but the model does not tie its weights (tie_word_embeddings: false), so weight tying is not applied for {field}.");
        var follows = tied && embeddingIds is not null && !mismatch;
        return new Plan(new TokenLayout(layers, follows), warnings);
    }
}
