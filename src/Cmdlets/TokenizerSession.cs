using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using TrainableTokens.Core.Tokenization;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// The tokenizer a cmdlet loads once per pipeline, held as <see cref="object"/> so that no engine type appears in a
/// cmdlet's fields or signatures (PowerShell would resolve it in the default load context); only the non-inlined
/// methods here touch the engine.
/// </summary>
internal static class TokenizerSession
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static object Load(string folder) => ModelTokenizer.Load(folder);

    public static void Release(object? tokenizer) => (tokenizer as IDisposable)?.Dispose();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static TokenIds Encode(object tokenizer, string text, bool addSpecialTokens)
    {
        var t = (ModelTokenizer)tokenizer;
        var ids = t.Encode(text, addSpecialTokens);
        return new TokenIds { Text = text, Ids = ids.ToArray(), Tokens = ids.Select(i => t.IdToToken(i) ?? "").ToArray() };
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static DecodedText Decode(object tokenizer, int[] ids, bool skipSpecialTokens)
    {
        var t = (ModelTokenizer)tokenizer;
        return new DecodedText { Ids = ids, Text = t.Decode(ids, skipSpecialTokens), Tokens = ids.Select(i => t.IdToToken(i) ?? "").ToArray() };
    }
}
