using System.Linq;
using TrainableTokens.Core.Tokenization;

namespace TrainableTokens.Core.Tests.Tokenization;

/// <summary>Our ids, tokens and decoded text against Hugging Face's recorded ones, on real tokenizer files.</summary>
public class ReferenceIdTests
{
    [Theory]
    [MemberData(nameof(TokenizerFixtures.All), MemberType = typeof(TokenizerFixtures))]
    public void Encoding_gives_hugging_face_ids_with_and_without_special_tokens(string name)
    {
        using var tokenizer = ModelTokenizer.Load(TokenizerFixtures.Folder(name));
        foreach (var c in TokenizerFixtures.Reference(name)["cases"]!.AsArray())
        {
            var text = c!["text"]!.GetValue<string>();
            Assert.True(TokenizerFixtures.Ints(c["ids"]).SequenceEqual(tokenizer.Encode(text)), $"{name}: ids of {System.Text.Json.JsonSerializer.Serialize(text)}");
            Assert.True(TokenizerFixtures.Ints(c["ids_no_special"]).SequenceEqual(tokenizer.Encode(text, addSpecialTokens: false)), $"{name}: plain ids of {text}");
        }
    }

    [Theory]
    [MemberData(nameof(TokenizerFixtures.All), MemberType = typeof(TokenizerFixtures))]
    public void Ids_map_to_hugging_face_tokens(string name)
    {
        using var tokenizer = ModelTokenizer.Load(TokenizerFixtures.Folder(name));
        foreach (var c in TokenizerFixtures.Reference(name)["cases"]!.AsArray())
        {
            var ids = TokenizerFixtures.Ints(c!["ids_no_special"]);
            Assert.Equal(TokenizerFixtures.Strings(c["tokens_no_special"]), ids.Select(i => tokenizer.IdToToken(i)!).ToArray());
            Assert.All(ids, i => Assert.Equal(i, tokenizer.TokenToId(tokenizer.IdToToken(i)!)));
        }
    }

    [Theory]
    [MemberData(nameof(TokenizerFixtures.All), MemberType = typeof(TokenizerFixtures))]
    public void Decoding_gives_hugging_face_text_keeping_or_skipping_special_tokens(string name)
    {
        using var tokenizer = ModelTokenizer.Load(TokenizerFixtures.Folder(name));
        foreach (var c in TokenizerFixtures.Reference(name)["cases"]!.AsArray())
        {
            var ids = TokenizerFixtures.Ints(c!["ids"]);
            Assert.Equal(c["decoded"]!.GetValue<string>(), tokenizer.Decode(ids));
            Assert.Equal(c["decoded_skip_special"]!.GetValue<string>(), tokenizer.Decode(ids, skipSpecialTokens: true));
        }
    }
}

/// <summary>
/// Held-out tokenizers: set TRAINABLETOKENS_HELDOUT to a folder of tokenizer folders plus the reference-ids.json that
/// tests/tokenizers/record-reference.mjs wrote for them, and every one is checked as the fixtures are. Without the
/// variable there is nothing to check.
/// </summary>
public class HeldOutTokenizerTests
{
    [Fact]
    public void Held_out_tokenizers_give_the_recorded_ids_and_text()
    {
        var root = System.Environment.GetEnvironmentVariable("TRAINABLETOKENS_HELDOUT");
        if (string.IsNullOrEmpty(root)) return;
        var reference = System.Text.Json.Nodes.JsonNode.Parse(System.IO.File.ReadAllText(System.IO.Path.Combine(root, "reference-ids.json")))!;
        foreach (var (name, entry) in reference["tokenizers"]!.AsObject())
        {
            using var tokenizer = ModelTokenizer.Load(System.IO.Path.Combine(root, name));
            foreach (var c in entry!["cases"]!.AsArray())
            {
                var text = c!["text"]!.GetValue<string>();
                var ids = TokenizerFixtures.Ints(c["ids"]);
                Assert.True(ids.SequenceEqual(tokenizer.Encode(text)), $"{name}: ids of {System.Text.Json.JsonSerializer.Serialize(text)}");
                Assert.True(TokenizerFixtures.Ints(c["ids_no_special"]).SequenceEqual(tokenizer.Encode(text, false)), $"{name}: plain ids of {text}");
                Assert.Equal(c["decoded"]!.GetValue<string>(), tokenizer.Decode(ids));
                Assert.Equal(c["decoded_skip_special"]!.GetValue<string>(), tokenizer.Decode(ids, true));
            }
        }
    }
}
