using System.Collections.Generic;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// The component types Hugging Face's tokenizers 0.22 reads from tokenizer.json, by section. A type outside these
/// lists comes from a newer release or a damaged file; naming it here beats the library's generic serde message.
/// </summary>
internal static class TokenizerComponents
{
    public static readonly IReadOnlyList<string> Models = new[] { "BPE", "Unigram", "WordPiece", "WordLevel" };

    public static readonly IReadOnlyList<string> Normalizers = new[]
    {
        "BertNormalizer", "Strip", "StripAccents", "NFC", "NFD", "NFKC", "NFKD", "Sequence", "Lowercase", "Nmt",
        "Precompiled", "Replace", "Prepend", "ByteLevel",
    };

    public static readonly IReadOnlyList<string> PreTokenizers = new[]
    {
        "BertPreTokenizer", "ByteLevel", "CharDelimiterSplit", "Metaspace", "Whitespace", "Sequence", "Split", "Punctuation",
        "WhitespaceSplit", "Digits", "UnicodeScripts", "FixedLength",
    };

    public static readonly IReadOnlyList<string> Decoders = new[]
    {
        "BPEDecoder", "ByteLevel", "WordPiece", "Metaspace", "CTC", "Sequence", "Replace", "Fuse", "Strip", "ByteFallback",
    };

    public static readonly IReadOnlyList<string> PostProcessors = new[]
    {
        "TemplateProcessing", "ByteLevel", "BertProcessing", "RobertaProcessing", "Sequence",
    };

    /// <summary>Where a Sequence keeps its parts, per section.</summary>
    public static string SequenceField(string section) => section switch
    {
        "normalizer" => "normalizers",
        "pre_tokenizer" => "pretokenizers",
        "decoder" => "decoders",
        _ => "processors",
    };
}
