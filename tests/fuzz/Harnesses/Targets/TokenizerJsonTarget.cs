using System;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Tokenization;

namespace TrainableTokens.Fuzz.Targets;

/// <summary>
/// A tokenizer.json, as ConvertTo-TokenId and Add-TokenizerToken use it: load, encode a text with the added tokens and
/// some of the vocabulary in it, decode the ids back (keeping and skipping special tokens) and each of the first 400
/// ids alone, then add a token, write the files and load them again.
/// A file that loads must work: an error from a later step is a finding too.
/// </summary>
public sealed class TokenizerJsonTarget : FuzzTarget
{
    public override string Name => "tokenizer-json";
    public override string FileName => "tokenizer.json";

    public override void Parse(string folder, string path) => TokenizerUse.Exercise(folder);
}

/// <summary>What both tokenizer harnesses do with a loaded tokenizer.</summary>
internal static class TokenizerUse
{
    private const string NewToken = "<fuzz_new_token>";

    public static void Exercise(string folder)
    {
        using var tokenizer = ModelTokenizer.Load(folder);
        // The file's own pieces reach the decoders and the added-token matching that a fixed text would miss.
        var known = Enumerable.Range(0, Math.Min(tokenizer.Size, 400)).Where(id => tokenizer.IdToToken(id) is not null).ToList();
        var text = "Hello world! caf\u00e9 123 " + string.Concat(tokenizer.AddedTokens.Take(8).Select(a => a.Content + " x")) +
                   string.Join(" ", known.Take(40).Select(id => tokenizer.IdToToken(id)));
        var ids = tokenizer.Encode(text);
        tokenizer.Decode(ids);
        tokenizer.Decode(ids, skipSpecialTokens: true);
        foreach (var id in known) tokenizer.Decode(new[] { id });
        tokenizer.Decode(known, skipSpecialTokens: true);
        foreach (var id in ids.Take(8)) tokenizer.IdToToken(id);
        _ = (tokenizer.BosTokenId, tokenizer.EosTokenId, tokenizer.PadTokenId, tokenizer.Size);

        var output = Path.Combine(folder, "added");
        if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        Directory.CreateDirectory(output);
        var additions = AddedTokensWriter.Plan(tokenizer, new[] { NewToken }, special: true);
        AddedTokensWriter.Write(tokenizer, additions, output);
        using var written = ModelTokenizer.Load(output);
        if (written.TokenToId(NewToken) != additions[0].Id)
            throw new InvalidDataException($"The written tokenizer gives {NewToken} id {written.TokenToId(NewToken)}, not {additions[0].Id}.");
        written.Encode(NewToken + text);
    }
}
