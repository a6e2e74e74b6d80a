using System.IO;
using TrainableTokens.Core.Tests.IO;
using TrainableTokens.Core.Tokenization;

namespace TrainableTokens.Core.Tests.Tokenization;

public class BosEosTests
{
    [Fact]
    public void Llama_tokenizer_config_add_eos_token_adds_eos_as_transformers_does()
    {
        using var temp = new TempFolder();
        File.Copy(Path.Combine(TokenizerFixtures.Folder("llama2"), "tokenizer.json"), temp.File("tokenizer.json"));
        var config = File.ReadAllText(Path.Combine(TokenizerFixtures.Folder("llama2"), "tokenizer_config.json"))
            .Replace("\"add_bos_token\": true", "\"add_bos_token\": false").Replace("\"add_eos_token\": false", "\"add_eos_token\": true");
        File.WriteAllText(temp.File("tokenizer_config.json"), config);
        using var tokenizer = ModelTokenizer.Load(temp.Path);
        Assert.Equal(new[] { 22557, 1526, 2 }, tokenizer.Encode("Hello world"));
        Assert.Equal(new[] { 22557, 1526 }, tokenizer.Encode("Hello world", addSpecialTokens: false));
    }

    [Fact]
    public void Without_tokenizer_config_the_post_processor_decides()
    {
        using var temp = new TempFolder();
        File.Copy(Path.Combine(TokenizerFixtures.Folder("llama2"), "tokenizer.json"), temp.File("tokenizer.json"));
        using var tokenizer = ModelTokenizer.Load(temp.Path);
        Assert.Equal(new[] { 1, 22557, 1526 }, tokenizer.Encode("Hello world"));
        Assert.Null(tokenizer.EosTokenId);
    }
}
