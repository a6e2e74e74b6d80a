using System;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// The one place the tokenizer library shows: the model, normalizer, pre-tokenizer, added-token matching and decoder
/// of a tokenizer.json. Everything Hugging Face does around them (special tokens from the post-processor, the
/// vocabulary, tokenizer_config.json) lives in <see cref="ModelTokenizer"/>, so the library can be swapped.
/// </summary>
internal interface ITokenizerBackend : IDisposable
{
    /// <summary>The ids of <paramref name="text"/> without the post-processor's special tokens (add_special_tokens=False).</summary>
    int[] Encode(string text);

    /// <summary>The text of <paramref name="ids"/>, as Hugging Face's decode with skip_special_tokens, before clean-up.</summary>
    string Decode(int[] ids, bool skipSpecialTokens);
}
