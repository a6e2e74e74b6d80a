using System.Linq;
using TrainableTokens.Core.Tests.Tokenization;
using TrainableTokens.Core.Tokenization;
using TrainableTokens.Core.Training.Data;

namespace TrainableTokens.Core.Tests.Training;

/// <summary>Our rendering of chat templates against @huggingface/jinja's rendering of the same templates (recorded).</summary>
public class ChatTemplateTests
{
    private static ChatMessage[] Messages(System.Text.Json.Nodes.JsonNode? node) =>
        node!.AsArray().Select(m => new ChatMessage(m!["role"]!.GetValue<string>(), m["content"]!.GetValue<string>())).ToArray();

    [Theory]
    [InlineData("llama3-trimmed", ChatTemplateShape.Llama3)]
    [InlineData("qwen3-trimmed", ChatTemplateShape.Qwen3)]
    [InlineData("gemma3-trimmed", ChatTemplateShape.Gemma)]
    public void Real_templates_render_as_jinja_does(string name, ChatTemplateShape shape)
    {
        using var tokenizer = ModelTokenizer.Load(TokenizerFixtures.Folder(name));
        var template = ChatTemplate.For(tokenizer);
        Assert.Equal(shape, template.Shape);
        foreach (var chat in TokenizerFixtures.Reference(name)["chat"]!.AsArray())
            Assert.Equal(chat!["rendered"]!.GetValue<string>(), template.Render(Messages(chat["messages"]), "test", null));
    }

    [Theory]
    [MemberData(nameof(TokenizerFixtures.All), MemberType = typeof(TokenizerFixtures))]
    public void A_plain_chatml_template_renders_as_jinja_does(string name)
    {
        var template = ChatTemplate.Parse(TokenizerFixtures.ChatMlTemplate, "", "test");
        Assert.Equal(ChatTemplateShape.ChatMl, template.Shape);
        foreach (var chat in TokenizerFixtures.Reference(name)["chatml"]!.AsArray())
            Assert.Equal(chat!["rendered"]!.GetValue<string>(), template.Render(Messages(chat["messages"]), "test", null));
    }

    [Fact]
    public void A_template_of_unknown_shape_is_refused_naming_its_file()
    {
        var e = Assert.Throws<InvalidDatasetException>(() => ChatTemplate.Parse(
            "{% for m in messages %}{{ '### ' + m['role'] + ': ' + m['content'] }}{% endfor %}", "", "/models/x/tokenizer_config.json"));
        Assert.Contains("'/models/x/tokenizer_config.json' is not supported", e.Message);
        var withDefaultSystem = TokenizerFixtures.ChatMlTemplate.Replace("{% for", "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% for");
        Assert.Throws<InvalidDatasetException>(() => ChatTemplate.Parse(withDefaultSystem, "", "t"));
    }

    [Fact]
    public void A_tokenizer_without_a_template_says_so()
    {
        using var tokenizer = ModelTokenizer.Load(TokenizerFixtures.Folder("llama2"));
        var e = Assert.Throws<InvalidDatasetException>(() => ChatTemplate.For(tokenizer));
        Assert.Contains("has no chat template", e.Message);
        Assert.Contains("tokenizer_config.json", e.Message);
    }

    [Fact]
    public void Gemma_requires_alternating_turns_and_tool_roles_are_refused()
    {
        using var tokenizer = ModelTokenizer.Load(TokenizerFixtures.Folder("gemma3-trimmed"));
        var template = ChatTemplate.For(tokenizer);
        var e = Assert.Throws<InvalidDatasetException>(() => template.Render(new[] { new ChatMessage("user", "a"), new ChatMessage("user", "b") }, "data.jsonl", 7));
        Assert.Contains("'data.jsonl' line 7", e.Message);
        Assert.Equal(7, e.Line);
        Assert.Throws<InvalidDatasetException>(() => template.Render(new[] { new ChatMessage("tool", "x") }, "data.jsonl", 1));
    }

    [Fact]
    public void An_unknown_role_is_quoted_short()
    {
        using var tokenizer = ModelTokenizer.Load(TokenizerFixtures.Folder("gemma3-trimmed"));
        var e = Assert.Throws<InvalidDatasetException>(() =>
            ChatTemplate.For(tokenizer).Render(new[] { new ChatMessage("assista" + new string('[', 30000), "x") }, "data.jsonl", 3));
        Assert.True(e.Message.Length < 300, e.Message);
    }
}
