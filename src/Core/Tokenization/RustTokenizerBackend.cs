using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// Hugging Face's own Rust tokenizers (0.22.2, through Tokenizers.DotNet), which gives the same ids as transformers by
/// construction. The wrapper always encodes with add_special_tokens=True and decodes with skip_special_tokens=True, so
/// it loads tailored copies of tokenizer.json: one without post-processor, truncation and padding (plain encode;
/// transformers also switches the file's truncation and padding off), and, on demand, one whose added tokens are not
/// special (decode that keeps them).
/// </summary>
internal sealed class RustTokenizerBackend : ITokenizerBackend
{
    private readonly object _gate = new();
    private readonly TokenizerJson _json;
    private readonly Tokenizers.DotNet.Tokenizer _encoder;
    private Tokenizers.DotNet.Tokenizer? _decoderKeepingSpecials;

    public RustTokenizerBackend(TokenizerJson json)
    {
        _json = json;
        _encoder = Load(json.With(PlainEncoding()));
    }

    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0) return Array.Empty<int>();
        uint[] ids;
        try
        {
            lock (_gate) ids = _encoder.Encode(text);
        }
        catch (Tokenizers.DotNet.TokenizerException e)
        {
            throw Refused("failed to encode a text with", e.Message, e);
        }
        // The file's ids were checked to fit; an id outside them means the library numbered tokens its own way.
        foreach (var id in ids)
            if (id > TokenizerJsonCheck.MaxId)
                throw Refused("gave an id outside the vocabulary of", $"id {id}", null);
        return Array.ConvertAll(ids, i => (int)i);
    }

    public string Decode(int[] ids, bool skipSpecialTokens)
    {
        if (ids.Length == 0) return "";
        var raw = Array.ConvertAll(ids, i => checked((uint)i));
        try
        {
            lock (_gate)
            {
                if (skipSpecialTokens) return _encoder.Decode(raw);
                _decoderKeepingSpecials ??= Load(_json.With(new Dictionary<string, string>(PlainEncoding()) { ["added_tokens"] = AddedTokensNotSpecial() }));
                return _decoderKeepingSpecials.Decode(raw);
            }
        }
        catch (Tokenizers.DotNet.TokenizerException e)
        {
            throw Refused("failed to decode ids with", e.Message, e);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _encoder.Dispose();
            _decoderKeepingSpecials?.Dispose();
        }
    }

    private static Dictionary<string, string> PlainEncoding() => new(StringComparer.Ordinal)
    {
        ["post_processor"] = "null",
        ["truncation"] = "null",
        ["padding"] = "null",
    };

    private string AddedTokensNotSpecial()
    {
        var added = JsonNode.Parse(_json.Value("added_tokens")?.ToArray() ?? "[]"u8.ToArray()) as JsonArray ?? new JsonArray();
        foreach (var token in added.OfType<JsonObject>()) token["special"] = false;
        return added.ToJsonString();
    }

    /// <summary>The library's own words (serde or tokenizer errors), cut short: they may quote a whole vocabulary entry or more.</summary>
    private InvalidTokenizerException Refused(string what, string detail, Exception? inner)
    {
        var text = detail.ReplaceLineEndings(" ").Trim().TrimEnd('.');
        if (text.Length > 300) text = text[..300] + "...";
        return new InvalidTokenizerException(
            $"Hugging Face's tokenizers library {what} '{_json.Path}': {text}. The file is damaged or comes from a newer tokenizers release. " +
            TokenizerJsonCheck.Fix, _json.Path, inner);
    }

    /// <summary>The wrapper loads from a path only: the tailored copy goes to a private temporary file, deleted once loaded.</summary>
    private Tokenizers.DotNet.Tokenizer Load(byte[] bytes)
    {
        var temp = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"trainabletokens-{Guid.NewGuid():N}.tokenizer.json");
        try
        {
            File.WriteAllBytes(temp, bytes);
            return new Tokenizers.DotNet.Tokenizer(vocabPath: temp);
        }
        catch (Tokenizers.DotNet.TokenizerException e)
        {
            throw Refused("refused", e.Message.Replace(temp, TokenizerJson.FileName, StringComparison.Ordinal), e);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            throw new NativeRuntimeException(
                $"The tokenizer's native library (libhf_tokenizers.so) could not be loaded: {e.Message.Split('\n')[0].Trim()} It ships in the module's " +
                "Dependencies folder, for Linux x64 only; rebuild the module (./build.ps1) on Linux x64.", "libhf_tokenizers", e);
        }
        finally
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
