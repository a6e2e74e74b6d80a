using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainableTokens.Core.Tests.IO;
using TrainableTokens.Core.Tokenization;

namespace TrainableTokens.Core.Tests.Tokenization;

public class AddedTokensTests
{
    /// <summary>Adds the tokens the reference recording added (normal ones, then special ones) to a copy of fixture <paramref name="name"/>.</summary>
    private static (string Folder, AddTokensResult Normal, AddTokensResult Special) AddReferenceTokens(TempFolder temp, string name)
    {
        var tokens = TokenizerFixtures.Reference(name)["added"]!["tokens"]!.AsArray();
        var step1 = Path.Combine(temp.Path, "step1");
        var normal = TokenAdder.Run(new AddTokensRequest { Source = TokenizerFixtures.Folder(name), Output = step1, Tokens = new[] { "<think>", "</think>" } });
        var output = Path.Combine(temp.Path, "out");
        var special = TokenAdder.Run(new AddTokensRequest { Source = step1, Output = output, Tokens = new[] { "<|tool|>" }, Special = true });
        var expected = tokens.Select(t => (t!["content"]!.GetValue<string>(), t["id"]!.GetValue<int>())).ToList();
        var actual = normal.Tokens.Concat(special.Tokens).Where(t => t.Added).Select(t => (t.Token, t.Id)).ToList();
        Assert.Equal(expected, actual);
        return (output, normal, special);
    }

    [Theory]
    [MemberData(nameof(TokenizerFixtures.All), MemberType = typeof(TokenizerFixtures))]
    public void Added_tokens_give_hugging_face_ids_and_text(string name)
    {
        using var temp = new TempFolder();
        var (output, _, _) = AddReferenceTokens(temp, name);
        using var tokenizer = ModelTokenizer.Load(output);
        foreach (var c in TokenizerFixtures.Reference(name)["added"]!["cases"]!.AsArray())
        {
            var text = c!["text"]!.GetValue<string>();
            var ids = TokenizerFixtures.Ints(c["ids"]);
            Assert.True(ids.SequenceEqual(tokenizer.Encode(text)), $"{name}: ids of {JsonSerializer.Serialize(text)}");
            Assert.True(TokenizerFixtures.Ints(c["ids_no_special"]).SequenceEqual(tokenizer.Encode(text, false)), $"{name}: plain ids of {text}");
            Assert.Equal(c["decoded"]!.GetValue<string>(), tokenizer.Decode(ids));
            Assert.Equal(c["decoded_skip_special"]!.GetValue<string>(), tokenizer.Decode(ids, skipSpecialTokens: true));
        }
    }

    [Fact]
    public void Adding_an_existing_token_changes_nothing_and_says_so()
    {
        using var temp = new TempFolder();
        var source = TokenizerFixtures.Folder("qwen3-trimmed");
        var result = TokenAdder.Run(new AddTokensRequest { Source = source, Output = temp.File("out"), Tokens = new[] { "<think>", "</think>" } });
        Assert.All(result.Tokens, t => Assert.False(t.Added));
        using var original = ModelTokenizer.Load(source);
        Assert.Equal(original.TokenToId("<think>"), result.Tokens[0].Id);
        Assert.Contains("already in the vocabulary", result.Tokens[0].Note);
        Assert.Equal(2, result.Notes.Count);
        Assert.Equal(File.ReadAllBytes(Path.Combine(source, "tokenizer.json")), File.ReadAllBytes(temp.File("out/tokenizer.json")));
        Assert.Equal(original.Size, result.TokenizerSize);
    }

    [Fact]
    public void An_output_inside_the_source_folder_is_refused_before_anything_is_written()
    {
        using var temp = new TempFolder();
        var source = temp.File("model");
        foreach (var file in Directory.GetFiles(TokenizerFixtures.Folder("qwen3-trimmed")))
        {
            Directory.CreateDirectory(source);
            File.Copy(file, Path.Combine(source, Path.GetFileName(file)));
        }
        var before = Directory.GetFileSystemEntries(source).Length;
        var error = Assert.Throws<OutputConflictException>(() =>
            TokenAdder.Run(new AddTokensRequest { Source = source, Output = Path.Combine(source, "with-think"), Tokens = new[] { "<x>" } }));
        Assert.Contains("inside", error.Message);
        Assert.Equal(before, Directory.GetFileSystemEntries(source).Length);
    }

    [Fact]
    public void A_token_given_twice_is_added_once()
    {
        using var temp = new TempFolder();
        var result = TokenAdder.Run(new AddTokensRequest { Source = TokenizerFixtures.Folder("llama2"), Output = temp.File("out"), Tokens = new[] { "<x>", "<x>" } });
        Assert.True(result.Tokens[0].Added);
        Assert.False(result.Tokens[1].Added);
        Assert.Equal(32000, result.Tokens[1].Id);
        Assert.Equal(32001, result.TokenizerSize);
    }

    [Fact]
    public void Only_added_tokens_change_in_tokenizer_json_and_the_config_lists_them()
    {
        using var temp = new TempFolder();
        var source = TokenizerFixtures.Folder("gemma3-trimmed");
        TokenAdder.Run(new AddTokensRequest { Source = source, Output = temp.File("out"), Tokens = new[] { "<think>" }, Special = true });
        var before = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "tokenizer.json")))!.AsObject();
        var after = JsonNode.Parse(File.ReadAllText(temp.File("out/tokenizer.json")))!.AsObject();
        Assert.Equal(before.Select(p => p.Key), after.Select(p => p.Key));
        foreach (var (key, value) in before)
            if (key != "added_tokens") Assert.True(JsonNode.DeepEquals(value, after[key]), key);
        var last = after["added_tokens"]!.AsArray().Last()!;
        Assert.Equal("<think>", last["content"]!.GetValue<string>());
        Assert.True(last["special"]!.GetValue<bool>());
        Assert.False(last["normalized"]!.GetValue<bool>());
        var config = JsonNode.Parse(File.ReadAllText(temp.File("out/tokenizer_config.json")))!;
        var entry = config["added_tokens_decoder"]![last["id"]!.GetValue<int>().ToString()]!;
        Assert.Equal("<think>", entry["content"]!.GetValue<string>());
        Assert.True(entry["special"]!.GetValue<bool>());
        Assert.Equal(JsonNode.Parse(File.ReadAllText(Path.Combine(source, "tokenizer_config.json")))!["chat_template"]!.GetValue<string>(), config["chat_template"]!.GetValue<string>());
    }

    [Fact]
    public void A_folder_without_tokenizer_json_is_an_invalid_tokenizer_naming_the_file()
    {
        using var temp = new TempFolder();
        var e = Assert.Throws<InvalidTokenizerException>(() => ModelTokenizer.Load(temp.Path));
        Assert.Contains("tokenizer.json", e.Message);
        Assert.Equal("InvalidTokenizer", e.ErrorId);
    }

    [Fact]
    public void A_damaged_tokenizer_json_is_reported_with_its_line()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp.File("tokenizer.json"), "{\n \"model\": {\"type\": \"BPE\",\n");
        var e = Assert.Throws<InvalidTokenizerException>(() => ModelTokenizer.Load(temp.Path));
        Assert.Contains("not valid JSON", e.Message);
    }
}
