using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// Checks the structure of a tokenizer.json before Hugging Face's library sees it, and reads its ids: a file that
/// passes gives ids the rest of the module can trust (whole numbers from 0 to <see cref="MaxId"/>, one piece per id),
/// and one that fails gets one message naming each field at fault, instead of a .NET or serde message about JSON
/// token types, or an id that wraps to a negative number three steps later.
/// </summary>
internal static class TokenizerJsonCheck
{
    /// <summary>Far above any real vocabulary (the largest are a few hundred thousand), far below int overflow.</summary>
    public const int MaxId = (1 << 24) - 1;

    public const string Fix = "Download or export the tokenizer again: in Python, AutoTokenizer.from_pretrained(folder).save_pretrained(folder) writes a complete tokenizer.json.";

    private static readonly string[] AddedTokenFlags = { "special", "normalized", "lstrip", "rstrip", "single_word" };

    public static TokenizerVocabulary Check(string path, JsonElement root)
    {
        var problems = new TokenizerProblems(path);
        if (root.ValueKind != JsonValueKind.Object)
            throw new InvalidTokenizerException($"'{path}' is not a tokenizer.json: it must hold one JSON object, not {Kind(root)}. {Fix}", path);
        DuplicateKeys(root, "", problems);
        if (root.TryGetProperty("version", out var version) && !(version.ValueKind == JsonValueKind.String && version.ValueEquals("1.0")))
            problems.Add($"\"version\" is {TokenizerProblems.Raw(version.GetRawText())}; Hugging Face's tokenizers reads only version \"1.0\"");

        Dictionary<string, int> vocab;
        if (!root.TryGetProperty("model", out var model))
        {
            problems.Add("it has no \"model\" (the vocabulary), so it is not a complete tokenizer.json");
            vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        }
        else if (model.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"\"model\" must be an object, not {Kind(model)}");
            vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        }
        else
        {
            vocab = Model(model, problems);
        }
        var added = AddedTokens(root, vocab, problems);
        Component(root, "normalizer", TokenizerComponents.Normalizers, problems);
        Component(root, "pre_tokenizer", TokenizerComponents.PreTokenizers, problems);
        Component(root, "decoder", TokenizerComponents.Decoders, problems);
        Component(root, "post_processor", TokenizerComponents.PostProcessors, problems);
        // Only once the normalizer itself is known to be sound can its effect on the added tokens be worked out.
        if (problems.Count == 0 && root.TryGetProperty("normalizer", out var normalizer))
            EmptiedByNormalizer(normalizer, added, problems);
        problems.ThrowIfAny(Fix);
        return new TokenizerVocabulary(vocab, added);
    }

    /// <summary>
    /// JSON may escape half of a UTF-16 surrogate pair ("\\ud800"), which is no text: .NET throws when reading it, the
    /// Rust library refuses it. Only escaped strings can hold one, so only those are decoded.
    /// </summary>
    public static void UnpairedSurrogates(byte[] bytes, string path, string fix)
    {
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = TokenizerJson.MaxDepth, AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        while (reader.Read())
        {
            if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName) || !reader.ValueIsEscaped) continue;
            try
            {
                reader.GetString();
            }
            catch (InvalidOperationException)
            {
                var at = (int)reader.TokenStartIndex;
                var line = bytes.AsSpan(0, at).Count((byte)'\n') + 1;
                throw new InvalidTokenizerException(
                    $"'{path}' line {line}: a string holds an unpaired UTF-16 surrogate escape (such as \\ud800 without its low half), which is not text. {fix}", path);
            }
        }
    }

    /// <summary>"an object", "a string", ...: what a value is, for messages.</summary>
    public static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => $"the string {TokenizerProblems.Quote(value.GetString())}",
        JsonValueKind.Number => $"the number {TokenizerProblems.Raw(value.GetRawText(), 30)}",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => "null",
    };

    /// <summary>An id as the module stores it: a whole number from 0 to <see cref="MaxId"/>, or null with the reason.</summary>
    public static int? Id(JsonElement value, string field, TokenizerProblems problems)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var id) && id >= 0 && id <= MaxId) return (int)id;
        problems.Add($"{field} is {Kind(value)}; an id must be a whole number from 0 to {MaxId.ToString("N0", CultureInfo.InvariantCulture)}");
        return null;
    }

    /// <summary>JSON allows a key twice; Python keeps the last, .NET's JsonNode throws, and neither is what the author meant.</summary>
    public static void DuplicateKeys(JsonElement value, string where, TokenizerProblems problems)
    {
        if (value.ValueKind == JsonValueKind.Object)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in value.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    problems.Add($"key {TokenizerProblems.Quote(property.Name)} appears more than once in {(where.Length == 0 ? "the top-level object" : where)}");
                DuplicateKeys(property.Value, where.Length == 0 ? property.Name : $"{where}.{property.Name}", problems);
            }
        }
        else if (value.ValueKind == JsonValueKind.Array)
        {
            var index = 0;
            foreach (var item in value.EnumerateArray())
            {
                if (item.ValueKind is JsonValueKind.Object or JsonValueKind.Array) DuplicateKeys(item, $"{where}[{index}]", problems);
                index++;
            }
        }
    }

    private static Dictionary<string, int> Model(JsonElement model, TokenizerProblems problems)
    {
        string? type = null;
        if (model.TryGetProperty("type", out var t))
        {
            if (t.ValueKind != JsonValueKind.String || !TokenizerComponents.Models.Contains(t.GetString()!))
                problems.Add($"model.type is {Kind(t)}; known model types are {string.Join(", ", TokenizerComponents.Models)}");
            else
                type = t.GetString();
        }
        if (!model.TryGetProperty("vocab", out var vocab))
        {
            problems.Add("\"model\" has no \"vocab\"; the file is incomplete");
            return new Dictionary<string, int>(StringComparer.Ordinal);
        }
        // Without a type (files from old releases) the vocabulary's shape says which model it is.
        type ??= vocab.ValueKind == JsonValueKind.Array ? "Unigram" : model.TryGetProperty("merges", out _) ? "BPE" : null;
        if (type == "Unigram") return UnigramVocab(model, vocab, problems);
        var ids = PieceVocab(vocab, problems);
        if (type == "BPE") Merges(model, ids, problems);
        UnknownToken(model, type, ids, problems);
        return ids;
    }

    /// <summary>BPE, WordPiece and WordLevel: an object of piece to id, each id used once.</summary>
    private static Dictionary<string, int> PieceVocab(JsonElement vocab, TokenizerProblems problems)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        if (vocab.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"model.vocab must be an object of token to id, not {Kind(vocab)}");
            return ids;
        }
        var owners = new Dictionary<int, string>();
        foreach (var entry in vocab.EnumerateObject())
        {
            if (Id(entry.Value, $"model.vocab[{TokenizerProblems.Quote(entry.Name)}]", problems) is not { } id) continue;
            if (owners.TryGetValue(id, out var other))
            {
                problems.Add($"model.vocab gives id {id} to both {TokenizerProblems.Quote(other)} and {TokenizerProblems.Quote(entry.Name)}; each id names one token");
                continue;
            }
            owners[id] = entry.Name;
            ids[entry.Name] = id;
        }
        return ids;
    }

    /// <summary>Unigram: a list of [piece, score]; a piece's id is its position.</summary>
    private static Dictionary<string, int> UnigramVocab(JsonElement model, JsonElement vocab, TokenizerProblems problems)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        if (vocab.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"model.vocab of a Unigram model must be a list of [token, score], not {Kind(vocab)}");
            return ids;
        }
        var count = vocab.GetArrayLength();
        if (count == 0) problems.Add("model.vocab is empty");
        if (count > MaxId + 1) problems.Add($"model.vocab has {count} entries, more than the {MaxId + 1} ids a vocabulary may have");
        var index = 0;
        foreach (var entry in vocab.EnumerateArray())
        {
            var field = $"model.vocab[{index}]";
            if (entry.ValueKind != JsonValueKind.Array || entry.GetArrayLength() != 2 || entry[0].ValueKind != JsonValueKind.String || entry[1].ValueKind != JsonValueKind.Number)
                problems.Add($"{field} is {TokenizerProblems.Raw(entry.GetRawText())}; each entry must be [token, score] with a string and a number");
            else if (!ids.TryAdd(entry[0].GetString()!, index))
                problems.Add($"{field} {TokenizerProblems.Quote(entry[0].GetString())} is already model.vocab[{ids[entry[0].GetString()!]}]");
            index++;
        }
        if (model.TryGetProperty("unk_id", out var unk) && unk.ValueKind != JsonValueKind.Null &&
            (unk.ValueKind != JsonValueKind.Number || !unk.TryGetInt64(out var u) || u < 0 || u >= count))
            problems.Add($"model.unk_id is {Kind(unk)}; it must be the position of a vocabulary entry (0 to {count - 1}) or null");
        return ids;
    }

    /// <summary>BPE merges: "left right" strings or [left, right] pairs, both parts and their join in the vocabulary.</summary>
    private static void Merges(JsonElement model, Dictionary<string, int> vocab, TokenizerProblems problems)
    {
        if (!model.TryGetProperty("merges", out var merges) || merges.ValueKind == JsonValueKind.Null) return;
        if (merges.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"model.merges must be a list, not {Kind(merges)}");
            return;
        }
        var prefix = model.TryGetProperty("continuing_subword_prefix", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : "";
        var prefixBytes = Encoding.UTF8.GetByteCount(prefix);
        var index = 0;
        foreach (var merge in merges.EnumerateArray())
        {
            var field = $"model.merges[{index++}]";
            string? left = null, right = null;
            if (merge.ValueKind == JsonValueKind.String)
            {
                var parts = merge.GetString()!.Split(' ');
                if (parts.Length == 2) (left, right) = (parts[0], parts[1]);
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2 &&
                     merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            {
                (left, right) = (merge[0].GetString(), merge[1].GetString());
            }
            if (left is null || right is null)
            {
                problems.Add($"{field} is {TokenizerProblems.Raw(merge.GetRawText())}; a merge is \"left right\" (one space) or [\"left\", \"right\"]");
                continue;
            }
            foreach (var part in new[] { left, right })
                if (!vocab.ContainsKey(part))
                    problems.Add($"{field} uses {TokenizerProblems.Quote(part)}, which model.vocab lacks");
            // The library joins left with right minus as many bytes as the prefix has, without looking: a right part
            // shorter than that, or cut inside a character, panics (and ends the process) while loading.
            var rightBytes = Encoding.UTF8.GetBytes(right);
            if (rightBytes.Length < prefixBytes || (prefixBytes > 0 && prefixBytes < rightBytes.Length && (rightBytes[prefixBytes] & 0xC0) == 0x80))
            {
                problems.Add($"{field} right part {TokenizerProblems.Quote(right)} does not start with continuing_subword_prefix {TokenizerProblems.Quote(prefix)}");
                continue;
            }
            var joined = left + Encoding.UTF8.GetString(rightBytes, prefixBytes, rightBytes.Length - prefixBytes);
            if (vocab.ContainsKey(left) && vocab.ContainsKey(right) && !vocab.ContainsKey(joined))
                problems.Add($"{field} makes {TokenizerProblems.Quote(joined)}, which model.vocab lacks");
        }
    }

    /// <summary>The unknown-token piece must exist, or the library fails on the first text with a character outside the vocabulary.</summary>
    private static void UnknownToken(JsonElement model, string? type, Dictionary<string, int> vocab, TokenizerProblems problems)
    {
        var hasField = model.TryGetProperty("unk_token", out var unk);
        if (hasField && unk.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
        {
            problems.Add($"model.unk_token is {Kind(unk)}; it must be a string or null");
            return;
        }
        // WordPiece and WordLevel always have one (their defaults); BPE only when the file names it.
        var name = hasField && unk.ValueKind == JsonValueKind.String ? unk.GetString() : type switch
        {
            "WordPiece" => hasField ? null : "[UNK]",
            "WordLevel" => hasField ? null : "<unk>",
            _ => null,
        };
        if (name is not null && !vocab.ContainsKey(name))
            problems.Add($"model.unk_token {TokenizerProblems.Quote(name)} is not in model.vocab");
    }

    private static List<AddedToken> AddedTokens(JsonElement root, Dictionary<string, int> vocab, TokenizerProblems problems)
    {
        var result = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens", out var list) || list.ValueKind == JsonValueKind.Null) return result;
        if (list.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"\"added_tokens\" must be a list, not {Kind(list)}");
            return result;
        }
        var byId = new Dictionary<int, string>();
        var byContent = new Dictionary<string, int>(StringComparer.Ordinal);
        var pieces = new Dictionary<int, string>(vocab.Count);
        foreach (var (piece, id) in vocab) pieces[id] = piece;
        var index = 0;
        foreach (var token in list.EnumerateArray())
        {
            var field = $"added_tokens[{index++}]";
            if (token.ValueKind != JsonValueKind.Object)
            {
                problems.Add($"{field} is {Kind(token)}; each added token is an object with \"id\" and \"content\"");
                continue;
            }
            int? id = null;
            if (!token.TryGetProperty("id", out var idValue)) problems.Add($"{field} has no \"id\"");
            else id = Id(idValue, $"{field}.id", problems);
            string? content = null;
            if (!token.TryGetProperty("content", out var contentValue)) problems.Add($"{field} has no \"content\"");
            else if (contentValue.ValueKind != JsonValueKind.String || contentValue.GetString()!.Length == 0)
                problems.Add($"{field}.content is {Kind(contentValue)}; it must be the token's text");
            else content = contentValue.GetString();
            var flags = new Dictionary<string, bool>(StringComparer.Ordinal);
            foreach (var flag in AddedTokenFlags)
            {
                if (!token.TryGetProperty(flag, out var v)) continue;
                if (v.ValueKind is JsonValueKind.True or JsonValueKind.False) flags[flag] = v.GetBoolean();
                else problems.Add($"{field}.{flag} is {Kind(v)}; it must be true or false");
            }
            if (id is not { } i || content is null) continue;
            if (byId.TryGetValue(i, out var earlier))
            {
                problems.Add($"{field} {TokenizerProblems.Quote(content)} has id {i}, which {TokenizerProblems.Quote(earlier)} already has");
                continue;
            }
            if (byContent.TryGetValue(content, out var earlierId))
            {
                problems.Add($"{field} {TokenizerProblems.Quote(content)} is listed twice (ids {earlierId} and {i})");
                continue;
            }
            if (vocab.TryGetValue(content, out var vocabId) && vocabId != i)
            {
                problems.Add($"{field} {TokenizerProblems.Quote(content)} has id {i}, but model.vocab gives it id {vocabId}");
                continue;
            }
            if (pieces.TryGetValue(i, out var piece) && piece != content)
            {
                problems.Add($"{field} {TokenizerProblems.Quote(content)} has id {i}, which model.vocab gives to {TokenizerProblems.Quote(piece)}");
                continue;
            }
            byId[i] = content;
            byContent[content] = i;
            var special = flags.GetValueOrDefault("special");
            result.Add(new AddedToken(i, content, special, flags.TryGetValue("normalized", out var n) ? n : !special,
                flags.GetValueOrDefault("lstrip"), flags.GetValueOrDefault("rstrip"), flags.GetValueOrDefault("single_word")));
        }
        return result;
    }

    private static void EmptiedByNormalizer(JsonElement normalizer, List<AddedToken> added, TokenizerProblems problems)
    {
        if (normalizer.ValueKind != JsonValueKind.Object) return;
        foreach (var token in added)
            if (token.Normalized && AddedTokenNormalization.Apply(normalizer, token.Content) is { Length: 0 })
                problems.Add($"added token {TokenizerProblems.Quote(token.Content)} (id {token.Id}) is \"normalized\", and the normalizer leaves nothing of it, " +
                    "which makes Hugging Face's tokenizers library fail on every text; set its \"normalized\" to false or remove it");
    }

    /// <summary>Settings the Rust library trusts without checking, and panics on (which ends the process) when they are wrong.</summary>
    private static void Settings(JsonElement value, string section, string field, string type, TokenizerProblems problems)
    {
        switch (type)
        {
            case "Strip" when section == "decoder":
                // It cuts "stop" characters off each token's end by counting down from its length: a token made only of
                // the stripped character and shorter than start + stop makes it slice backwards or below zero.
                if (value.TryGetProperty("stop", out var stop) && !(stop.ValueKind == JsonValueKind.Number && stop.TryGetInt64(out var s) && s == 0))
                    problems.Add($"{field}.stop is {Kind(stop)}; Hugging Face's tokenizers 0.22 fails (and ends the process) on some tokens when a Strip decoder's stop is not 0");
                break;
            case "Precompiled":
                if (!value.TryGetProperty("precompiled_charsmap", out var map) || map.ValueKind != JsonValueKind.String)
                    problems.Add($"{field}.precompiled_charsmap must be SentencePiece's normalization rules as base64 text");
                else if (PrecompiledCharsmap.Problem(map.GetString()!) is { } problem)
                    problems.Add($"{field}.precompiled_charsmap {problem}");
                break;
            case "FixedLength":
                if (value.TryGetProperty("length", out var length) &&
                    (length.ValueKind != JsonValueKind.Number || !length.TryGetInt64(out var n) || n < 1))
                    problems.Add($"{field}.length is {Kind(length)}; it must be a whole number of at least 1");
                break;
        }
    }

    /// <summary>A pipeline section: null, or an object whose "type" the library knows (a Sequence's parts likewise).</summary>
    private static void Component(JsonElement root, string section, IReadOnlyList<string> known, TokenizerProblems problems)
    {
        if (root.TryGetProperty(section, out var value)) Component(value, section, section, known, problems);
    }

    private static void Component(JsonElement value, string section, string field, IReadOnlyList<string> known, TokenizerProblems problems)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{field} must be an object or null, not {Kind(value)}");
            return;
        }
        if (!value.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            problems.Add($"{field} has no \"type\" string");
            return;
        }
        var name = type.GetString()!;
        if (!known.Contains(name))
        {
            problems.Add($"{field}.type {TokenizerProblems.Quote(name)} is not one Hugging Face's tokenizers 0.22 knows (known: {string.Join(", ", known)})");
            return;
        }
        Settings(value, section, field, name, problems);
        if (name != "Sequence") return;
        var partsField = TokenizerComponents.SequenceField(section);
        if (!value.TryGetProperty(partsField, out var parts) || parts.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"{field} is a Sequence without a \"{partsField}\" list");
            return;
        }
        var index = 0;
        foreach (var part in parts.EnumerateArray())
            Component(part, section, $"{field}.{partsField}[{index++}]", known, problems);
    }
}
