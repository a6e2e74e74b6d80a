using System;
using System.Collections.Generic;
using System.IO;

namespace TrainableTokens.Core.Tokenization;

/// <summary>The files of a Hugging Face tokenizer, and copying them into a model folder (tests, demos, tiny models).</summary>
public static class TokenizerFiles
{
    /// <summary>Every file transformers reads for a tokenizer; tokenizer.json is the one this module needs.</summary>
    public static readonly IReadOnlyList<string> Names = new[]
    {
        TokenizerJson.FileName, TokenizerConfig.FileName, "special_tokens_map.json", "added_tokens.json",
        "tokenizer.model", "vocab.json", "merges.txt", "chat_template.jinja",
    };

    /// <summary>Copies the tokenizer files <paramref name="tokenizerFolder"/> has into <paramref name="modelFolder"/>, replacing any there; returns the names copied.</summary>
    public static IReadOnlyList<string> CopyInto(string tokenizerFolder, string modelFolder)
    {
        if (!File.Exists(Path.Combine(tokenizerFolder, TokenizerJson.FileName)))
            throw new InvalidTokenizerException($"'{tokenizerFolder}' has no {TokenizerJson.FileName}.", tokenizerFolder);
        Directory.CreateDirectory(modelFolder);
        var copied = new List<string>();
        foreach (var name in Names)
        {
            var source = Path.Combine(tokenizerFolder, name);
            if (!File.Exists(source)) continue;
            File.Copy(source, Path.Combine(modelFolder, name), overwrite: true);
            copied.Add(name);
        }
        return copied;
    }
}
