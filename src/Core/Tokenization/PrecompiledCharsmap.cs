using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text.Unicode;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// Checks a Precompiled normalizer's <c>precompiled_charsmap</c> (SentencePiece's normalization rules: a u32 trie size,
/// a double-array trie of u32 units, then NUL-separated replacement strings) the way the Rust library will walk it.
/// The library trusts this blob: a short or malformed one panics while loading, and a trie that points outside itself
/// or into the middle of a character panics while encoding. A panic in native code ends the whole process, so every
/// walk any text can take is tried here first.
/// </summary>
internal static class PrecompiledCharsmap
{
    /// <summary>The problem with <paramref name="base64"/>, or null when the library can use it safely.</summary>
    public static string? Problem(string base64)
    {
        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            return "is not base64 text";
        }
        if (blob.Length < 4) return $"is {blob.Length} bytes long, shorter than its 4-byte trie size";
        var trieBytes = BinaryPrimitives.ReadUInt32LittleEndian(blob) / 4 * 4L;
        if (trieBytes == 0) return "has an empty trie";
        if (4 + trieBytes > blob.Length) return $"declares a {trieBytes}-byte trie but holds only {blob.Length - 4} bytes after the size";
        var units = new uint[trieBytes / 4];
        for (var i = 0; i < units.Length; i++) units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(4 + i * 4));
        var normalized = blob.AsSpan(4 + (int)trieBytes);
        if (!Utf8.IsValid(normalized)) return "has replacement text that is not valid UTF-8";
        return Walk(units, normalized);
    }

    /// <summary>
    /// <paramref name="text"/> after the charsmap's rules: at each place the longest rule that matches is replaced by its
    /// text, anything else is kept. Meant for a charsmap <see cref="Problem"/> accepted; null for one it cannot walk.
    /// </summary>
    public static string? Normalize(string base64, string text)
    {
        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            return null;
        }
        if (blob.Length < 4 || 4L + BinaryPrimitives.ReadUInt32LittleEndian(blob) / 4 * 4 > blob.Length) return null;
        var trieBytes = (int)(BinaryPrimitives.ReadUInt32LittleEndian(blob) / 4 * 4);
        var units = new uint[trieBytes / 4];
        for (var i = 0; i < units.Length; i++) units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(4 + i * 4));
        var normalized = blob.AsSpan(4 + trieBytes);
        var input = System.Text.Encoding.UTF8.GetBytes(text);
        var output = new List<byte>(input.Length);
        var at = 0;
        while (at < input.Length)
        {
            if (units.Length == 0) return null;
            long position = Offset(units[0]);
            (int Length, long Value)? match = null;
            for (var i = at; i < input.Length && input[i] != 0; i++)
            {
                position ^= input[i];
                if (position >= units.Length) return null;
                var unit = units[position];
                if (Label(unit) != input[i]) break;
                position ^= Offset(unit);
                if (HasLeaf(unit))
                {
                    if (position >= units.Length) return null;
                    match = (i - at + 1, Value(units[position]));
                }
            }
            if (match is { } m && m.Value > normalized.Length) return null;
            if (match is { } found && IsCharBoundary(input, at + found.Length))
            {
                var end = (int)found.Value;
                while (end < normalized.Length && normalized[end] != 0) end++;
                output.AddRange(normalized[(int)found.Value..end].ToArray());
                at += found.Length;
            }
            else
            {
                var length = CharLength(input[at]);
                for (var k = 0; k < length && at < input.Length; k++) output.Add(input[at++]);
            }
        }
        return System.Text.Encoding.UTF8.GetString(output.ToArray());
    }

    private static bool IsCharBoundary(byte[] bytes, int index) => index >= bytes.Length || (bytes[index] & 0xC0) != 0x80;

    private static int CharLength(byte lead) => lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;

    // The unit layout of a darts-clone double array, as the library reads it.
    private static bool HasLeaf(uint unit) => ((unit >> 8) & 1) == 1;
    private static long Value(uint unit) => unit & ((1u << 31) - 1);
    private static long Label(uint unit) => unit & ((1u << 31) | 0xFF);
    private static long Offset(uint unit) => (long)(unit >> 10) << (int)((unit & (1u << 9)) >> 6);

    /// <summary>
    /// Every state a text can reach: a trie position and how many UTF-8 continuation bytes the text still owes (text
    /// is valid UTF-8, so only those bytes can come next). Each step reads the unit at position XOR byte before it
    /// checks the label, so that read must be in range for every byte the text may hold there.
    /// </summary>
    private static string? Walk(uint[] units, ReadOnlySpan<byte> normalized)
    {
        var start = Offset(units[0]);
        var seen = new HashSet<(long, int)>();
        var pending = new Stack<(long Position, int Owed)>();
        pending.Push((start, 0));
        while (pending.Count > 0)
        {
            var (position, owed) = pending.Pop();
            if (!seen.Add((position, owed))) continue;
            foreach (var (first, last, next) in owed == 0 ? LeadBytes : Continuation(owed))
                for (var c = first; c <= last; c++)
                {
                    var at = position ^ c;
                    if (at >= units.Length) return $"has a trie that reads unit {at} of {units.Length} for byte 0x{c:X2}";
                    var unit = units[at];
                    if (Label(unit) != c) continue;
                    var child = at ^ Offset(unit);
                    if (HasLeaf(unit))
                    {
                        if (child >= units.Length) return $"has a trie leaf at unit {child} of {units.Length}";
                        var index = Value(units[child]);
                        if (index > normalized.Length || (index < normalized.Length && (normalized[(int)index] & 0xC0) == 0x80))
                            return $"has a trie value {index} that is not the start of a replacement (the text is {normalized.Length} bytes)";
                    }
                    pending.Push((child, next));
                }
        }
        return null;
    }

    /// <summary>Byte ranges a character may start with, and the continuation bytes each leaves owed (0x00 ends the walk).</summary>
    private static readonly (int First, int Last, int Next)[] LeadBytes = { (0x01, 0x7F, 0), (0xC2, 0xDF, 1), (0xE0, 0xEF, 2), (0xF0, 0xF4, 3) };

    private static (int First, int Last, int Next)[] Continuation(int owed) => new[] { (0x80, 0xBF, owed - 1) };
}
