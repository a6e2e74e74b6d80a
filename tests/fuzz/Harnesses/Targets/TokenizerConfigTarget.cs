using System.IO;
using System.Reflection;
using TrainableTokens.Core.Tokenization;
using TrainableTokens.Core.Training.Data;

namespace TrainableTokens.Fuzz.Targets;

/// <summary>
/// A tokenizer_config.json beside a fixed, valid tokenizer.json (a cut-down Llama 2 one): the tokenizer loads with it,
/// encodes with the bos/eos it asks for, renders a conversation with its chat template, and is rewritten by Add-TokenizerToken.
/// </summary>
public sealed class TokenizerConfigTarget : FuzzTarget
{
    public override string Name => "tokenizer-config";
    public override string FileName => TokenizerConfig.FileName;

    public override void Prepare(string folder)
    {
        using var resource = Assembly.GetExecutingAssembly().GetManifestResourceStream("llama2-tokenizer.json")!;
        using var file = File.Create(Path.Combine(folder, "tokenizer.json"));
        resource.CopyTo(file);
    }

    public override void Parse(string folder, string path)
    {
        TokenizerUse.Exercise(folder);
        using var tokenizer = ModelTokenizer.Load(folder);
        if (string.IsNullOrWhiteSpace(tokenizer.Config.ChatTemplate)) return;
        ChatTemplate.For(tokenizer).Render(new[] { new ChatMessage("user", "hi"), new ChatMessage("assistant", "hello") }, path, null);
    }
}
