using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using TrainableTokens.Core.Tokenization;

namespace TrainableTokens.Core.Tests.Tokenization;

/// <summary>
/// Damaged tokenizer.json and tokenizer_config.json files are refused before Hugging Face's library sees them, with one
/// short <see cref="InvalidTokenizerException"/> naming the file, the field and the fix, never a .NET message about
/// JSON token types or dictionary keys, an id that wraps to a negative number, or a hang.
/// </summary>
public sealed class TokenizerValidationTests : IDisposable
{
    private const string Valid = """
        {
          "version": "1.0", "truncation": null, "padding": null,
          "added_tokens": [{"id": 5, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
          "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
          "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]}, "decoder": null,
          "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "hello": 1, "[CLS]": 2, "[SEP]": 3, "world": 4}, "unk_token": "[UNK]"}
        }
        """;

    private readonly string _folder = Directory.CreateTempSubdirectory("tt-tokenizer-check-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string JsonPath => Path.Combine(_folder, "tokenizer.json");

    [Fact]
    public void The_valid_base_file_loads_and_encodes_with_its_special_tokens()
    {
        File.WriteAllText(JsonPath, Valid);
        using var tokenizer = ModelTokenizer.Load(_folder);
        Assert.Equal(new[] { 2, 1, 4, 5, 3 }, tokenizer.Encode("hello world [PAD]"));
        Assert.Equal(6, tokenizer.Size);
    }

    [Fact]
    public void A_vocabulary_id_written_as_a_string_names_the_entry()
    {
        var message = Refused(t => t["model"]!["vocab"]!["hello"] = "1");
        Assert.Contains("model.vocab[\"hello\"] is the string \"1\"", message);
    }

    [Fact]
    public void An_added_token_id_past_int_range_is_refused_instead_of_wrapping_negative()
    {
        var message = Refused(t => t["added_tokens"]![0]!["id"] = 2147483648L);
        Assert.Contains("added_tokens[0].id is the number 2147483648", message);
        Assert.Contains("16,777,215", message);
    }

    [Fact]
    public void A_key_given_twice_in_an_added_token_is_named()
    {
        File.WriteAllText(JsonPath, Valid.Replace("\"special\": true}", "\"special\": true, \"special\": false}", StringComparison.Ordinal));
        var message = Assert.Throws<InvalidTokenizerException>(() => ModelTokenizer.Load(_folder)).Message;
        Assert.Contains("key \"special\" appears more than once in added_tokens[0]", message);
    }

    [Fact]
    public void A_hundred_thousand_duplicate_ids_give_a_short_message_with_a_count()
    {
        var message = Refused(t =>
        {
            var vocab = t["model"]!["vocab"]!.AsObject();
            for (var i = 0; i < 100_000; i++) vocab[$"piece{i}"] = 1;
        });
        Assert.Contains("model.vocab gives id 1 to both \"hello\" and \"piece0\"", message);
        Assert.Contains("(and 99997 more problems)", message);
        Assert.True(message.Length < 1000, message);
    }

    [Fact]
    public void An_added_token_whose_content_has_another_id_in_the_vocabulary_is_refused()
    {
        var message = Refused(t => t["added_tokens"]![0]!["content"] = "world");
        Assert.Contains("added_tokens[0] \"world\" has id 5, but model.vocab gives it id 4", message);
    }

    [Fact]
    public void An_added_token_id_the_library_would_renumber_is_refused()
    {
        // The library numbers added tokens after the vocabulary itself: id 500 would encode as 5, so every id reported
        // for it (and any model row chosen by it) would be wrong.
        var message = Refused(t => t["added_tokens"]![0]!["id"] = 500);
        Assert.Contains("added_tokens[0] \"[PAD]\" has id 500 in the file, but Hugging Face's tokenizers library encodes it as [5]", message);
    }

    [Fact]
    public void A_post_processor_id_outside_the_vocabulary_is_refused()
    {
        var message = Refused(t => t["post_processor"]!["cls"]![1] = 99);
        Assert.Contains("post_processor.cls[1] is id 99, which neither model.vocab nor added_tokens has", message);
    }

    [Fact]
    public void A_template_post_processor_without_single_is_refused()
    {
        var message = Refused(t => t["post_processor"] = JsonNode.Parse("""{"type": "TemplateProcessing", "special_tokens": {}}"""));
        Assert.Contains("post_processor has no \"single\" template list", message);
    }

    [Fact]
    public void An_unknown_component_type_is_named_with_the_known_ones()
    {
        var message = Refused(t => t["normalizer"] = JsonNode.Parse("""{"type": "Sequence", "normalizers": [{"type": "Lowercase"}, {"type": "Uppercase"}]}"""));
        Assert.Contains("normalizer.normalizers[1].type \"Uppercase\" is not one Hugging Face's tokenizers 0.22 knows", message);
    }

    [Fact]
    public void A_merge_of_pieces_outside_the_vocabulary_is_named()
    {
        var message = Refused(t =>
        {
            t["model"]!["type"] = "BPE";
            t["model"]!["merges"] = JsonNode.Parse("""["hel lo", "hello  world"]""");
        });
        Assert.Contains("model.merges[0] uses \"hel\", which model.vocab lacks", message);
        Assert.Contains("model.merges[1] is \"hello  world\"", message);
    }

    [Fact]
    public void A_merge_the_library_would_cut_inside_its_right_part_is_refused_instead_of_ending_the_process()
    {
        // With continuing_subword_prefix "#" the library cuts one byte off every right part without looking; one byte into
        // "é" is inside a character, and it panics while loading.
        var message = Refused(t =>
        {
            t["model"] = JsonNode.Parse("""
                {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": "#", "end_of_word_suffix": null,
                 "fuse_unk": false, "byte_fallback": false, "vocab": {"a": 0, "b": 1, "\u00e9": 2, "ab": 3, "a\u00e9": 4, "#b": 5, "a#b": 6, "[CLS]": 7, "[SEP]": 8},
                 "merges": ["a \u00e9", "a #b"]}
                """);
            t["post_processor"] = null;
            t["added_tokens"] = new JsonArray();
        });
        Assert.Contains("model.merges[0] right part \"\u00e9\" does not start with continuing_subword_prefix \"#\"", message);
        Assert.DoesNotContain("merges[1]", message);
    }

    [Fact]
    public void Invalid_utf8_is_reported_with_its_line_not_a_transcoding_error()
    {
        var bytes = Encoding.UTF8.GetBytes(Valid.Replace("hello", "hel\u00ffo", StringComparison.Ordinal));
        var at = Array.IndexOf(bytes, (byte)0xC3);
        bytes[at] = 0xFF;
        File.WriteAllBytes(JsonPath, bytes);
        var message = Assert.Throws<InvalidTokenizerException>(() => ModelTokenizer.Load(_folder)).Message;
        Assert.Contains("is not valid UTF-8 text", message);
        Assert.Contains("(line 6,", message);
        Assert.Contains(JsonPath, message);
    }

    [Fact]
    public void An_unpaired_surrogate_escape_is_refused_with_its_line()
    {
        File.WriteAllText(JsonPath, Valid.Replace("\"hello\"", "\"hel\\ud800lo\"", StringComparison.Ordinal));
        var message = Assert.Throws<InvalidTokenizerException>(() => ModelTokenizer.Load(_folder)).Message;
        Assert.Contains($"'{JsonPath}' line 6: a string holds an unpaired UTF-16 surrogate escape", message);
        // In a top-level key it broke the scan that indexes the file, before any other check ran.
        File.WriteAllText(JsonPath, Valid.Replace("\"version\"", "\"ver\\udc00sion\"", StringComparison.Ordinal));
        message = Assert.Throws<InvalidTokenizerException>(() => ModelTokenizer.Load(_folder)).Message;
        Assert.Contains($"'{JsonPath}' line 2: a string holds an unpaired UTF-16 surrogate escape", message);
    }

    [Fact]
    public void Tokens_cannot_be_added_when_vocabulary_ids_have_gaps_and_the_message_says_why()
    {
        // ids 0-3 and 9: the library numbers a new token 5 (the entry count), where len(tokenizer) says 10.
        var json = JsonNode.Parse(Valid)!;
        json["model"]!["vocab"]!["world"] = 9;
        json["added_tokens"] = new JsonArray();
        json["post_processor"] = null;
        File.WriteAllText(JsonPath, json.ToJsonString());
        using var tokenizer = ModelTokenizer.Load(_folder);
        var message = Assert.Throws<InvalidTokenizerException>(() => AddedTokensWriter.Plan(tokenizer, new[] { "<new>" }, special: true)).Message;
        Assert.Contains("Its ids run to 9, but model.vocab has only 5 entries, so Hugging Face's tokenizers library would give a new token id 5 instead of 10", message);
        Assert.Contains(JsonPath, message);
    }

    [Fact]
    public void A_syntax_error_does_not_quote_pages_of_the_file()
    {
        // System.Text.Json quotes everything after a broken literal; a fuzzed file got a 7,339-character message.
        File.WriteAllText(JsonPath, "t\n" + Valid + new string('x', 20_000));
        var message = Assert.Throws<InvalidTokenizerException>(() => ModelTokenizer.Load(_folder)).Message;
        Assert.Contains("is not valid JSON (line 1,", message);
        Assert.True(message.Length < 600, message);
    }

    [Fact]
    public void What_the_library_still_rejects_is_wrapped_with_the_file_and_a_fix()
    {
        var message = Refused(t => t["pre_tokenizer"] = JsonNode.Parse("""{"type": "Split", "pattern": {"Regex": "(("}, "behavior": "Isolated", "invert": false}"""));
        Assert.Contains("Hugging Face's tokenizers library refused", message);
        Assert.Contains("unmatched parenthesis", message);
        Assert.Contains("save_pretrained", message);
    }

    [Fact]
    public void A_fixed_length_pre_tokenizer_of_zero_is_refused_instead_of_ending_the_process()
    {
        // The library panics on the first encode ("chunk size must be non-zero"), which aborts the whole process.
        var message = Refused(t => t["pre_tokenizer"] = JsonNode.Parse("""{"type": "FixedLength", "length": 0}"""));
        Assert.Contains("pre_tokenizer.length is the number 0; it must be a whole number of at least 1", message);
    }

    [Fact]
    public void A_precompiled_charsmap_the_library_would_trust_blindly_is_checked_first()
    {
        // 256 empty trie units and no replacement text: a charsmap that changes nothing, walkable for every byte.
        using (var tokenizer = LoadWithCharsmap(Charsmap(256)))
            Assert.Equal(new[] { 1, 4 }, tokenizer.Encode("hello world", addSpecialTokens: false));
        // Too short for its own size field: the library panics while loading. Too few units: it reads past them while encoding.
        Assert.Contains("normalizer.precompiled_charsmap is 3 bytes long", Refused(t => t["normalizer"] = Precompiled("AAAA")));
        Assert.Contains("normalizer.precompiled_charsmap has a trie that reads unit 16 of 16 for byte 0x10",
            Refused(t => t["normalizer"] = Precompiled(Convert.ToBase64String(Charsmap(16)))));
    }

    private ModelTokenizer LoadWithCharsmap(byte[] charsmap)
    {
        var json = JsonNode.Parse(Valid)!;
        json["normalizer"] = Precompiled(Convert.ToBase64String(charsmap));
        File.WriteAllText(JsonPath, json.ToJsonString());
        return ModelTokenizer.Load(_folder);
    }

    private static JsonNode Precompiled(string base64) => new JsonObject { ["type"] = "Precompiled", ["precompiled_charsmap"] = base64 };

    private static byte[] Charsmap(int units)
    {
        var blob = new byte[4 + units * 4];
        BitConverter.TryWriteBytes(blob, units * 4);
        return blob;
    }

    [Fact]
    public void A_normalized_added_token_the_normalizer_empties_is_refused_instead_of_ending_the_process()
    {
        // The library matches it by its normalized text; an empty one panics on every encode ("AddedVocabulary bad split").
        var message = Refused(t =>
        {
            t["normalizer"] = JsonNode.Parse("""{"type": "Sequence", "normalizers": [{"type": "Lowercase"}, {"type": "Replace", "pattern": {"String": "x"}, "content": ""}]}""");
            t["added_tokens"]!.AsArray().Add(JsonNode.Parse("""{"id": 6, "content": "XxX", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": false}"""));
        });
        Assert.Contains("added token \"XxX\" (id 6) is \"normalized\", and the normalizer leaves nothing of it", message);
    }

    [Fact]
    public void A_strip_decoder_with_a_stop_is_refused_instead_of_ending_the_process_on_decode()
    {
        // Decoding a token "h" with start 1 and stop 1 makes the library slice [1..0] and panic.
        var message = Refused(t => t["decoder"] = JsonNode.Parse("""{"type": "Sequence", "decoders": [{"type": "Fuse"}, {"type": "Strip", "content": "h", "start": 1, "stop": 1}]}"""));
        Assert.Contains("decoder.decoders[1].stop is the number 1; Hugging Face's tokenizers 0.22 fails (and ends the process)", message);
    }

    [Fact]
    public void Every_pre_tokenizer_type_the_library_reads_is_accepted()
    {
        var json = JsonNode.Parse(Valid)!;
        json["pre_tokenizer"] = JsonNode.Parse("""
            {"type": "Sequence", "pretokenizers": [{"type": "CharDelimiterSplit", "delimiter": "l"}, {"type": "Digits", "individual_digits": true},
             {"type": "Punctuation", "behavior": "Contiguous"}, {"type": "UnicodeScripts"}, {"type": "WhitespaceSplit"}, {"type": "FixedLength", "length": 3}]}
            """);
        File.WriteAllText(JsonPath, json.ToJsonString());
        using var tokenizer = ModelTokenizer.Load(_folder);
        Assert.NotEmpty(tokenizer.Encode("hello world"));
    }

    [Fact]
    public void A_fifo_in_place_of_tokenizer_json_is_refused_without_waiting_for_a_writer()
    {
        using (var mkfifo = Process.Start("mkfifo", JsonPath)) Assert.True(mkfifo.WaitForExit(10_000) && mkfifo.ExitCode == 0);
        var clock = Stopwatch.StartNew();
        var message = Assert.Throws<InvalidTokenizerException>(() => ModelTokenizer.Load(_folder)).Message;
        Assert.Contains("a FIFO (named pipe), not a regular file", message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Tokenizer_files_linked_to_devices_are_refused_without_reading_them()
    {
        File.CreateSymbolicLink(JsonPath, "/dev/zero");
        Assert.Contains("is a character device, not a regular file", Assert.Throws<InvalidTokenizerException>(() => ModelTokenizer.Load(_folder)).Message);
        File.Delete(JsonPath);
        File.WriteAllText(JsonPath, Valid);
        var config = Path.Combine(_folder, "tokenizer_config.json");
        File.CreateSymbolicLink(config, "/dev/urandom");
        var message = Assert.Throws<InvalidTokenizerException>(() => ModelTokenizer.Load(_folder)).Message;
        Assert.Contains($"'{config}' is a character device", message);
        File.Delete(config);
        var template = Path.Combine(_folder, "chat_template.jinja");
        using (var mkfifo = Process.Start("mkfifo", template)) Assert.True(mkfifo.WaitForExit(10_000) && mkfifo.ExitCode == 0);
        Assert.Contains("a FIFO (named pipe)", Assert.Throws<InvalidTokenizerException>(() => ModelTokenizer.Load(_folder)).Message);
    }

    [Fact]
    public void A_tokenizer_json_over_the_size_limit_is_refused_before_it_is_read()
    {
        using (var file = File.Create(JsonPath)) file.SetLength(TokenizerJson.MaxBytes + 1);
        var message = Assert.Throws<InvalidTokenizerException>(() => ModelTokenizer.Load(_folder)).Message;
        Assert.Contains("a tokenizer.json is at most 384 MiB", message);
    }

    [Fact]
    public void A_tokenizer_config_key_given_twice_in_a_nested_object_is_refused_at_load()
    {
        // Before: loading worked, and Add-TokenizerToken failed later with "An item with the same key has already been added".
        File.WriteAllText(JsonPath, Valid);
        var config = Path.Combine(_folder, "tokenizer_config.json");
        File.WriteAllText(config, """{"bos_token": "[CLS]", "sp_model_kwargs": {"a": 1, "a": 2}}""");
        var message = Assert.Throws<InvalidTokenizerException>(() => ModelTokenizer.Load(_folder)).Message;
        Assert.Contains(config, message);
        Assert.Contains("key \"a\" appears more than once in sp_model_kwargs", message);
    }

    [Fact]
    public void A_tokenizer_config_flag_that_is_not_a_boolean_is_named_instead_of_ignored()
    {
        File.WriteAllText(JsonPath, Valid);
        var config = Path.Combine(_folder, "tokenizer_config.json");
        File.WriteAllText(config, """{"add_bos_token": "yes", "added_tokens_decoder": {"-1": {"content": "x"}, "7": 3}}""");
        var message = Assert.Throws<InvalidTokenizerException>(() => ModelTokenizer.Load(_folder)).Message;
        Assert.Contains("\"add_bos_token\" is the string \"yes\"; it must be true or false", message);
        Assert.Contains("added_tokens_decoder[\"-1\"]: the key must be a token id", message);
        Assert.Contains("added_tokens_decoder[\"7\"] must be an object with \"content\"", message);
    }

    private string Refused(Action<JsonNode> damage)
    {
        var json = JsonNode.Parse(Valid)!;
        damage(json);
        File.WriteAllText(JsonPath, json.ToJsonString());
        var e = Assert.Throws<InvalidTokenizerException>(() => ModelTokenizer.Load(_folder));
        Assert.Contains(JsonPath, e.Message);
        Assert.True(e.Message.Length < 2000, e.Message);
        return e.Message;
    }
}
