using System;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// What tokenizer.json's normalizer makes of an added token marked <c>normalized</c>, as far as it decides whether
/// anything is left. The Rust library matches such a token by its normalized text, and an empty one makes every
/// encode panic ("AddedVocabulary bad split"), which ends the process; so a token the normalizer empties is refused
/// before the library sees it. Components that only reshape text are followed closely enough for that question;
/// null means the answer is not known here (a regex .NET reads differently), and the token is let through.
/// </summary>
internal static class AddedTokenNormalization
{
    private static readonly TimeSpan RegexLimit = TimeSpan.FromMilliseconds(200);

    public static string? Apply(JsonElement normalizer, string text)
    {
        if (normalizer.ValueKind != JsonValueKind.Object || text.Length == 0) return text;
        var type = normalizer.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        switch (type)
        {
            case "Sequence":
                if (!normalizer.TryGetProperty("normalizers", out var parts) || parts.ValueKind != JsonValueKind.Array) return null;
                string? current = text;
                foreach (var part in parts.EnumerateArray())
                {
                    current = Apply(part, current);
                    if (current is null) return null;
                }
                return current;
            case "Strip":
                var left = Flag(normalizer, "strip_left", true);
                var right = Flag(normalizer, "strip_right", true);
                return left && right ? text.Trim() : left ? text.TrimStart() : right ? text.TrimEnd() : text;
            case "Replace":
                return Replace(normalizer, text);
            case "StripAccents":
                return WithoutMarks(text);
            case "Nmt":
                return new string(text.Where(c => !IsNmtRemoved(c)).ToArray());
            case "BertNormalizer":
                var clean = Flag(normalizer, "clean_text", true)
                    ? new string(text.Where(c => c != '\0' && c != '\uFFFD' && !(char.IsControl(c) && c is not ('\t' or '\n' or '\r')) &&
                                                 CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.Format).ToArray())
                    : text;
                var lowercase = Flag(normalizer, "lowercase", true);
                var strip = normalizer.TryGetProperty("strip_accents", out var s) && s.ValueKind is JsonValueKind.True or JsonValueKind.False
                    ? s.GetBoolean() : lowercase;
                if (strip) clean = WithoutMarks(clean);
                return lowercase ? clean.ToLowerInvariant() : clean;
            case "Precompiled":
                return normalizer.TryGetProperty("precompiled_charsmap", out var map) && map.ValueKind == JsonValueKind.String
                    ? PrecompiledCharsmap.Normalize(map.GetString()!, text) : null;
            case "NFC": return Normalized(text, NormalizationForm.FormC);
            case "NFD": return Normalized(text, NormalizationForm.FormD);
            case "NFKC": return Normalized(text, NormalizationForm.FormKC);
            case "NFKD": return Normalized(text, NormalizationForm.FormKD);
            case "Lowercase": return text.ToLowerInvariant();
            case "Prepend":
                return normalizer.TryGetProperty("prepend", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() + text : null;
            case "ByteLevel": return text;
            default: return null;
        }
    }

    private static bool Flag(JsonElement value, string name, bool fallback) =>
        value.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;

    private static string? Replace(JsonElement normalizer, string text)
    {
        if (!normalizer.TryGetProperty("content", out var c) || c.ValueKind != JsonValueKind.String ||
            !normalizer.TryGetProperty("pattern", out var pattern) || pattern.ValueKind != JsonValueKind.Object) return null;
        var content = c.GetString()!;
        if (pattern.TryGetProperty("String", out var literal) && literal.ValueKind == JsonValueKind.String)
            return literal.GetString()!.Length == 0 ? text : text.Replace(literal.GetString()!, content, StringComparison.Ordinal);
        if (!pattern.TryGetProperty("Regex", out var regex) || regex.ValueKind != JsonValueKind.String) return null;
        try
        {
            return Regex.Replace(text, regex.GetString()!, content.Replace("$", "$$", StringComparison.Ordinal), RegexOptions.None, RegexLimit);
        }
        catch (Exception e) when (e is ArgumentException or RegexMatchTimeoutException)
        {
            return null;
        }
    }

    private static string? Normalized(string text, NormalizationForm form)
    {
        try
        {
            return text.Normalize(form);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static string WithoutMarks(string text)
    {
        var decomposed = Normalized(text, NormalizationForm.FormD) ?? text;
        return new string(decomposed.Where(c => CharUnicodeInfo.GetUnicodeCategory(c) is not
            (UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark)).ToArray());
    }

    /// <summary>The control characters SentencePiece's NMT normalization drops.</summary>
    private static bool IsNmtRemoved(char c) => c is (>= '\u0001' and <= '\u0008') or '\u000B' or (>= '\u000E' and <= '\u001F') or '\u007F' or '\u008F' or '\u009F';
}
