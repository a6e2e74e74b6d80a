using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// A Hugging Face tokenizer loaded from a folder's tokenizer.json and tokenizer_config.json, giving the ids
/// transformers gives: <c>Encode(text)</c> is <c>tokenizer(text).input_ids</c>, <c>Encode(text, false)</c> is
/// <c>add_special_tokens=False</c>, <c>Decode</c> is <c>tokenizer.decode</c>. <see cref="Size"/> is <c>len(tokenizer)</c>.
/// </summary>
public sealed class ModelTokenizer : IDisposable
{
    private readonly ITokenizerBackend _backend;
    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<int, string> _tokens;
    private readonly HashSet<int> _special;
    private readonly PostProcessorTemplate _template;

    private ModelTokenizer(string folder, TokenizerJson json, TokenizerConfig config, ITokenizerBackend backend,
        Dictionary<string, int> ids, List<AddedToken> added, PostProcessorTemplate template)
    {
        Folder = folder;
        Config = config;
        _backend = backend;
        _ids = ids;
        _template = template;
        AddedTokens = added;
        _tokens = new Dictionary<int, string>(ids.Count);
        foreach (var (token, id) in ids) _tokens[id] = token;
        foreach (var a in added) _tokens[a.Id] = a.Content;
        _special = added.Where(a => a.Special).Select(a => a.Id).ToHashSet();
        Size = _tokens.Count == 0 ? 0 : _tokens.Keys.Max() + 1;
        TokenizerJsonPath = json.Path;
        VocabularyCount = json.Vocabulary.Vocab.Count;
        BeyondVocabulary = added.Where(a => !json.Vocabulary.Vocab.ContainsKey(a.Content)).ToList();
        // The library's rule for a new added token: after the largest added id when that is past the vocabulary,
        // else the number of vocabulary entries (which is not the largest id + 1 when ids have gaps).
        var maxAdded = added.Count == 0 ? -1 : added.Max(a => a.Id);
        NextAddedId = maxAdded >= VocabularyCount || VocabularyCount == 0 ? maxAdded + 1 : VocabularyCount;
    }

    public string Folder { get; }
    public string TokenizerJsonPath { get; }
    /// <summary>The number of model.vocab entries (the library's vocab_size without added tokens).</summary>
    internal int VocabularyCount { get; }
    /// <summary>The id Hugging Face's library gives the next token added.</summary>
    internal int NextAddedId { get; }
    public TokenizerConfig Config { get; }
    /// <summary>tokenizer.json's added tokens, in file order.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; }
    /// <summary>The added tokens that the tokenizer model's own vocabulary (model.vocab) does not hold: tokens added
    /// after the tokenizer was trained, by Add-TokenizerToken or by the model's authors (special tokens included).</summary>
    public IReadOnlyList<AddedToken> BeyondVocabulary { get; }
    /// <summary>len(tokenizer): one more than the largest id of the model's vocabulary and the added tokens.</summary>
    public int Size { get; }
    public int? BosTokenId => Config.BosToken is { } t ? TokenToId(t) : null;
    public int? EosTokenId => Config.EosToken is { } t ? TokenToId(t) : null;
    public int? PadTokenId => Config.PadToken is { } t ? TokenToId(t) : null;
    /// <summary>The ids the post-processor puts before and after a single sequence (add_special_tokens=True).</summary>
    public IReadOnlyList<int> SpecialPrefix => _template.Prefix;
    public IReadOnlyList<int> SpecialSuffix => _template.Suffix;

    /// <summary>Loads <c>tokenizer.json</c> (required) and <c>tokenizer_config.json</c> (optional) from <paramref name="folder"/>.</summary>
    public static ModelTokenizer Load(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var full = System.IO.Path.GetFullPath(folder);
        if (!Directory.Exists(full))
            throw new InvalidTokenizerException($"The tokenizer folder '{full}' does not exist. Check the path.", full);
        var json = TokenizerJson.Read(System.IO.Path.Combine(full, TokenizerJson.FileName));
        return FromJson(full, json, TokenizerConfig.ReadFolder(full));
    }

    internal static ModelTokenizer FromJson(string folder, TokenizerJson json, TokenizerConfig config)
    {
        var ids = new Dictionary<string, int>(json.Vocabulary.Vocab, StringComparer.Ordinal);
        var added = json.Vocabulary.AddedTokens;
        foreach (var a in added) ids[a.Content] = a.Id;
        var known = new HashSet<int>(ids.Values);
        PostProcessorTemplate template;
        using (var processor = json.Document("post_processor"))
            template = PostProcessorTemplate.Parse(processor.RootElement, json.Path, known);
        template = BosEosOverride(template, config, ids) ?? template;
        var backend = new RustTokenizerBackend(json);
        try
        {
            CheckAddedTokenIds(json.Path, backend, added);
        }
        catch
        {
            backend.Dispose();
            throw;
        }
        return new ModelTokenizer(folder, json, config, backend, ids, added, template);
    }

    /// <summary>
    /// The library may give an added token another id than the file says (it numbers added tokens after the vocabulary
    /// in its own way); every id this module reports must be the one encoding gives, so each token matched verbatim
    /// (not normalized first) is encoded once and compared.
    /// </summary>
    private static void CheckAddedTokenIds(string path, ITokenizerBackend backend, List<AddedToken> added)
    {
        var problems = new TokenizerProblems(path);
        for (var i = 0; i < added.Count; i++)
        {
            var a = added[i];
            if (a.Normalized) continue;
            var got = backend.Encode(a.Content);
            if (got.Length != 1 || got[0] != a.Id)
                problems.Add($"added_tokens[{i}] {TokenizerProblems.Quote(a.Content)} has id {a.Id} in the file, but Hugging Face's tokenizers library encodes it as [{string.Join(", ", got.Take(4))}{(got.Length > 4 ? ", ..." : "")}]");
        }
        problems.ThrowIfAny("Added tokens must have the ids the library gives them: the next ids after the vocabulary, in order. " + TokenizerJsonCheck.Fix);
    }

    /// <summary>The ids of <paramref name="text"/>; with <paramref name="addSpecialTokens"/>, the post-processor's tokens around them (transformers' default).</summary>
    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        var ids = _backend.Encode(text);
        if (!addSpecialTokens || (_template.Prefix.Count == 0 && _template.Suffix.Count == 0)) return ids;
        return _template.Prefix.Concat(ids).Concat(_template.Suffix).ToArray();
    }

    /// <summary>The text of <paramref name="ids"/>, as transformers' <c>decode</c> (special tokens kept unless skipped).</summary>
    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false)
    {
        foreach (var id in ids)
            if (id < 0 || !_tokens.ContainsKey(id)) throw new TokenIdOutOfRangeException(id, Size);
        var text = _backend.Decode(ids.ToArray(), skipSpecialTokens);
        return Config.CleanUpTokenizationSpaces ? CleanUpSpaces(text) : text;
    }

    /// <summary>The vocabulary entry of <paramref name="id"/> (e.g. "Ġworld", "▁world", "&lt;s&gt;"), or null.</summary>
    public string? IdToToken(int id) => _tokens.TryGetValue(id, out var t) ? t : null;

    /// <summary>The id of vocabulary entry or added token <paramref name="token"/>, or null.</summary>
    public int? TokenToId(string token) => _ids.TryGetValue(token, out var id) ? id : null;

    public bool IsSpecial(int id) => _special.Contains(id);

    public void Dispose() => _backend.Dispose();

    /// <summary>
    /// transformers' Llama and Gemma tokenizers rebuild the post-processor from tokenizer_config.json's add_bos_token and
    /// add_eos_token (update_post_processor), so a config that sets them decides which of bos and eos surround the text.
    /// </summary>
    private static PostProcessorTemplate? BosEosOverride(PostProcessorTemplate template, TokenizerConfig config, Dictionary<string, int> ids)
    {
        var family = config.TokenizerClass?.Replace("Fast", "", StringComparison.Ordinal) is "LlamaTokenizer" or "GemmaTokenizer" or "CodeLlamaTokenizer";
        if (!family || (config.AddBosToken is null && config.AddEosToken is null)) return null;
        int? Id(string? token) => token is not null && ids.TryGetValue(token, out var id) ? id : null;
        var bos = config.AddBosToken ?? true ? Id(config.BosToken) : null;
        var eos = config.AddEosToken ?? false ? Id(config.EosToken) : null;
        return new PostProcessorTemplate(bos is { } b ? new[] { b } : Array.Empty<int>(), eos is { } e ? new[] { e } : Array.Empty<int>());
    }

    /// <summary>transformers' clean_up_tokenization: no space before punctuation and English contractions.</summary>
    internal static string CleanUpSpaces(string text) => text
        .Replace(" .", ".", StringComparison.Ordinal).Replace(" ?", "?", StringComparison.Ordinal)
        .Replace(" !", "!", StringComparison.Ordinal).Replace(" ,", ",", StringComparison.Ordinal)
        .Replace(" ' ", "'", StringComparison.Ordinal).Replace(" n't", "n't", StringComparison.Ordinal)
        .Replace(" 'm", "'m", StringComparison.Ordinal).Replace(" 's", "'s", StringComparison.Ordinal)
        .Replace(" 've", "'ve", StringComparison.Ordinal).Replace(" 're", "'re", StringComparison.Ordinal);
}
