using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Models;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// Turns what a user names into trainable_tokens fields, with a model folder: token strings into ids (each must be
/// exactly one token of the model's tokenizer), and "the output head too" into target_modules.
/// </summary>
public static class TokenSelection
{
    /// <summary>
    /// The id of each of <paramref name="tokens"/> in the tokenizer of <paramref name="modelFolder"/>, in order; a string
    /// that is not exactly one token gets a <see cref="NotOneTokenException"/> in <c>Problems</c> instead, naming it.
    /// </summary>
    public static (IReadOnlyList<int> Ids, IReadOnlyList<NotOneTokenException> Problems) Resolve(string modelFolder, IReadOnlyList<string> tokens)
    {
        using var tokenizer = ModelTokenizer.Load(modelFolder);
        var ids = new List<int>();
        var problems = new List<NotOneTokenException>();
        foreach (var token in tokens)
        {
            var encoded = tokenizer.Encode(token, addSpecialTokens: false);
            // A vocabulary entry written as the tokenizer stores it ("Ġhello", "▁hello") names its row too.
            if (encoded.Length == 1) ids.Add(encoded[0]);
            else if (token.Length > 0 && tokenizer.TokenToId(token) is { } id) ids.Add(id);
            else problems.Add(new NotOneTokenException(token, Describe(token, encoded, tokenizer)));
        }
        return (ids, problems);
    }

    private static string Describe(string token, int[] encoded, ModelTokenizer tokenizer)
    {
        var what = encoded.Length == 0
            ? "it encodes to no token at all"
            : $"it encodes to {encoded.Length} tokens ({string.Join(", ", encoded.Take(8).Select(i => $"{i} '{tokenizer.IdToToken(i)}'"))}{(encoded.Length > 8 ? $" and {encoded.Length - 8} more" : "")})";
        return $"'{token}' is not one token of the tokenizer in '{tokenizer.Folder}': {what}. " +
            "Add it as a token first (Add-TokenizerToken), or give its id with -TokenIndex.";
    }

    /// <summary>
    /// target_modules that also train the LM head's rows: <paramref name="targets"/> plus lm_head, or, when none are
    /// given, the input embedding of the model in <paramref name="modelFolder"/> and lm_head (PEFT's
    /// <c>[embed_tokens, lm_head]</c>). A tied model gets the same list; its head follows the embedding's rows anyway.
    /// </summary>
    public static IReadOnlyList<string> WithOutputHead(IReadOnlyList<string>? targets, string? modelFolder)
    {
        var head = ModelArchitectures.LmHeadPath("");
        if (targets is { Count: > 0 }) return targets.Contains(head) ? targets : targets.Append(head).ToList();
        var embedding = ModelArchitectures.InputEmbeddingPath(ModelConfigReader.ReadFolder(modelFolder!).ModelType);
        return new[] { embedding[(embedding.LastIndexOf('.') + 1)..], head };
    }
}
