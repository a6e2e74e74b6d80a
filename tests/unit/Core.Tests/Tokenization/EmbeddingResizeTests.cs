using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tests.IO;
using TrainableTokens.Core.Tokenization;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Tokenization;

/// <summary>Adding tokens to model folders: a tiny model whose vocabulary is a real tokenizer's.</summary>
public class EmbeddingResizeTests
{
    private const string Embed = "model.embed_tokens.weight";

    /// <summary>A tiny model (vocab = the tokenizer's size unless given) with the fixture's tokenizer files copied in.</summary>
    private static string TinyModelWithTokenizer(TempFolder temp, string tokenizer, string type = "llama", bool? tied = false,
        string dtype = "float32", long? maxShardBytes = null, int? vocab = null)
    {
        var folder = temp.File("model");
        int size;
        using (var t = ModelTokenizer.Load(TokenizerFixtures.Folder(tokenizer))) size = t.Size;
        TinyModelFactory.Create(folder, new TinyModelSpec
        {
            ModelType = type, Seed = 3, VocabSize = vocab ?? size, HiddenSize = 16, IntermediateSize = 32, NumHeads = 2, NumKeyValueHeads = 1,
            NumLayers = 1, TieWordEmbeddings = tied, Dtype = dtype, MaxShardBytes = maxShardBytes,
        });
        TokenizerFiles.CopyInto(TokenizerFixtures.Folder(tokenizer), folder);
        return folder;
    }

    private static Tensor Load(string folder, string name)
    {
        using var checkpoint = Checkpoint.OpenFolder(folder);
        return checkpoint.Load(name);
    }

    private static void AssertOldRowsBitIdentical(string before, string after, string name, int rows)
    {
        using var scope = NewDisposeScope();
        var a = Load(before, name);
        var b = Load(after, name);
        Assert.Equal(rows, a.shape[0]);
        Assert.True(Same(a, b[..rows]), $"{name}: old rows changed");
    }

    /// <summary>Same dtype, shape and bytes: bit-identical.</summary>
    private static bool Same(Tensor a, Tensor b)
    {
        if (a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape)) return false;
        using var x = a.contiguous();
        using var y = b.contiguous();
        return x.bytes.SequenceEqual(y.bytes);
    }

    [Fact]
    public void Mean_init_keeps_old_rows_bit_identical_and_grows_embedding_and_untied_head()
    {
        using var temp = new TempFolder();
        var model = TinyModelWithTokenizer(temp, "llama2");
        var result = TokenAdder.Run(new AddTokensRequest { Source = model, Output = temp.File("out"), Tokens = new[] { "<think>", "</think>" } });
        Assert.Equal(32000, result.OldVocabSize);
        Assert.Equal(32002, result.NewVocabSize);
        Assert.Equal(new[] { Embed, "lm_head.weight" }.Order(), result.ResizedTensors.Order());
        Assert.Equal(32002, ModelConfigReader.ReadFolder(temp.File("out")).VocabSize);
        foreach (var name in new[] { Embed, "lm_head.weight" })
        {
            AssertOldRowsBitIdentical(model, temp.File("out"), name, 32000);
            using var scope = NewDisposeScope();
            var mean = Load(model, name).mean(new long[] { 0 });
            var grown = Load(temp.File("out"), name);
            Assert.Equal(new long[] { 32002, 16 }, grown.shape);
            Assert.True(Same(grown[32000], mean) && Same(grown[32001], mean), $"{name}: new rows are not the mean");
        }
    }

    [Fact]
    public void Text_init_averages_the_rows_of_the_texts_tokens()
    {
        using var temp = new TempFolder();
        var model = TinyModelWithTokenizer(temp, "llama3-trimmed");
        var result = TokenAdder.Run(new AddTokensRequest
        {
            Source = model, Output = temp.File("out"), Tokens = new[] { "<think>", "</think>" },
            Init = NewRowInit.Text, InitTexts = new[] { "begin reasoning", "end reasoning" },
        });
        using var tokenizer = ModelTokenizer.Load(model);
        using var scope = NewDisposeScope();
        var old = Load(model, Embed);
        var grown = Load(temp.File("out"), Embed);
        for (var i = 0; i < 2; i++)
        {
            var ids = tokenizer.Encode(i == 0 ? "begin reasoning" : "end reasoning", addSpecialTokens: false);
            Assert.True(ids.Length >= 2);
            var expected = old.index_select(0, tensor(ids.Select(x => (long)x).ToArray())).mean(new long[] { 0 });
            Assert.True(Same(grown[result.Tokens[i].Id], expected));
        }
        AssertOldRowsBitIdentical(model, temp.File("out"), "lm_head.weight", 12256);
    }

    [Fact]
    public void Copy_init_copies_one_existing_tokens_row_in_bfloat16_exactly()
    {
        using var temp = new TempFolder();
        var model = TinyModelWithTokenizer(temp, "gemma3-trimmed", type: "gemma", tied: true, dtype: "bfloat16");
        var result = TokenAdder.Run(new AddTokensRequest
        {
            Source = model, Output = temp.File("out"), Tokens = new[] { "<think>" }, Special = true, Init = NewRowInit.Copy, InitTokens = new[] { "<start_of_turn>" },
        });
        Assert.Equal(new[] { Embed }, result.ResizedTensors);
        using var tokenizer = ModelTokenizer.Load(model);
        using var scope = NewDisposeScope();
        var grown = Load(temp.File("out"), Embed);
        Assert.Equal(ScalarType.BFloat16, grown.dtype);
        Assert.True(Same(grown[result.Tokens[0].Id], grown[tokenizer.TokenToId("<start_of_turn>")!.Value]));
        AssertOldRowsBitIdentical(model, temp.File("out"), Embed, tokenizer.Size);
    }

    [Fact]
    public void Random_init_is_seeded_normal_with_the_initializer_range()
    {
        using var temp = new TempFolder();
        var model = TinyModelWithTokenizer(temp, "gpt2", type: "gpt2", tied: true);
        var tokens = Enumerable.Range(0, 64).Select(i => $"<new{i}>").ToArray();
        TokenAdder.Run(new AddTokensRequest { Source = model, Output = temp.File("a"), Tokens = tokens, Init = NewRowInit.Random, Seed = 5 });
        TokenAdder.Run(new AddTokensRequest { Source = model, Output = temp.File("b"), Tokens = tokens, Init = NewRowInit.Random, Seed = 5 });
        TokenAdder.Run(new AddTokensRequest { Source = model, Output = temp.File("c"), Tokens = tokens, Init = NewRowInit.Random, Seed = 6 });
        using var scope = NewDisposeScope();
        const string wte = "transformer.wte.weight";
        var a = Load(temp.File("a"), wte)[50257..];
        Assert.True(Same(a, Load(temp.File("b"), wte)[50257..]));
        Assert.False(Same(a, Load(temp.File("c"), wte)[50257..]));
        Assert.InRange(a.std().item<float>(), 0.017, 0.023);
        Assert.InRange(a.mean().item<float>(), -0.005, 0.005);
        AssertOldRowsBitIdentical(model, temp.File("a"), wte, 50257);
    }

    [Fact]
    public void Padding_to_a_multiple_fills_extra_rows_with_the_mean_and_keeps_a_sharded_layout()
    {
        using var temp = new TempFolder();
        var model = TinyModelWithTokenizer(temp, "qwen3-trimmed", type: "qwen2", tied: false, dtype: "bfloat16", maxShardBytes: 150_000);
        var shards = Directory.GetFiles(model, "model-*.safetensors").Select(Path.GetFileName).Order().ToArray();
        Assert.True(shards.Length > 1);
        var result = TokenAdder.Run(new AddTokensRequest { Source = model, Output = temp.File("out"), Tokens = new[] { "<|tool|>" }, Special = true, PadToMultipleOf = 64 });
        Assert.Equal(12032, result.NewVocabSize);
        Assert.Equal(shards, Directory.GetFiles(temp.File("out"), "model-*.safetensors").Select(Path.GetFileName).Order().ToArray());
        Assert.False(File.Exists(temp.File("out/model.safetensors")));
        var index = JsonNode.Parse(File.ReadAllText(temp.File("out/model.safetensors.index.json")))!;
        var total = Directory.GetFiles(temp.File("out"), "model-*.safetensors").Sum(f => { using var s = SafetensorsFile.Open(f); return s.Tensors.Sum(t => t.ByteLength); });
        Assert.Equal(total, index["metadata"]!["total_size"]!.GetValue<long>());
        using var scope = NewDisposeScope();
        var grown = Load(temp.File("out"), Embed);
        Assert.Equal(12032, grown.shape[0]);
        var mean = Load(model, Embed).mean(new long[] { 0 }, false, ScalarType.Float32).to(ScalarType.BFloat16);
        Assert.True(Same(grown[12031], mean));
        AssertOldRowsBitIdentical(model, temp.File("out"), Embed, 12026);
        AssertOldRowsBitIdentical(model, temp.File("out"), "lm_head.weight", 12026);
        using var loaded = ModelLoader.Load(temp.File("out"));
        using var input = tensor(new long[] { 1, 2, result.Tokens[0].Id }, new long[] { 1, 3 });
        using var logits = loaded.Forward(input).Logits;
        Assert.Equal(12032, logits.shape[2]);
    }

    [Fact]
    public void A_new_token_inside_a_padded_vocabulary_keeps_the_size_and_initialises_only_its_row()
    {
        using var temp = new TempFolder();
        var model = TinyModelWithTokenizer(temp, "llama2", vocab: 32064);
        var result = TokenAdder.Run(new AddTokensRequest { Source = model, Output = temp.File("out"), Tokens = new[] { "<think>" } });
        Assert.Equal(32064, result.NewVocabSize);
        Assert.Contains(result.Notes, n => n.Contains("already covers id(s) 32000"));
        using var scope = NewDisposeScope();
        var old = Load(model, Embed);
        var grown = Load(temp.File("out"), Embed);
        Assert.True(Same(grown[32000], old.mean(new long[] { 0 })));
        Assert.True(Same(old[..32000], grown[..32000]) && Same(old[32001..], grown[32001..]));
    }

    [Fact]
    public void Other_files_are_copied_and_a_failed_init_writes_nothing()
    {
        using var temp = new TempFolder();
        var model = TinyModelWithTokenizer(temp, "llama2");
        File.WriteAllText(Path.Combine(model, "generation_config.json"), "{\"do_sample\": false}\n");
        var e = Assert.Throws<ArgumentException>(() => TokenAdder.Run(new AddTokensRequest
        {
            Source = model, Output = temp.File("out"), Tokens = new[] { "<think>" }, Init = NewRowInit.Copy, InitTokens = new[] { "not one token at all" },
        }));
        Assert.Contains("-InitToken", e.Message);
        Assert.False(Directory.Exists(temp.File("out")));
        TokenAdder.Run(new AddTokensRequest { Source = model, Output = temp.File("out"), Tokens = new[] { "<think>" } });
        Assert.Equal("{\"do_sample\": false}\n", File.ReadAllText(temp.File("out/generation_config.json")));
        Assert.Equal(Directory.GetFiles(model).Select(Path.GetFileName).Order(), Directory.GetFiles(temp.File("out")).Select(Path.GetFileName).Order());
    }
}
