using System.IO;
using System.Linq;
using TrainableTokens.Core.Tests.IO;
using TrainableTokens.Core.Tests.Tokenization;
using TrainableTokens.Core.Tokenization;
using TrainableTokens.Core.Training.Data;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Training;

public class DatasetTests
{
    private static TokenizedDataset Build(string tokenizerName, string file, DatasetOptions? options = null)
    {
        using var tokenizer = ModelTokenizer.Load(TokenizerFixtures.Folder(tokenizerName));
        return TokenizedDataset.Build(tokenizer, DatasetReader.ReadFile(file), options ?? new DatasetOptions(), file);
    }

    [Fact]
    public void Text_records_get_special_tokens_and_eos_and_loss_everywhere()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp.File("d.jsonl"), "{\"text\": \"Hello world\", \"id\": 1}\n\n{\"text\": \"Bye\"}\n");
        var data = Build("llama2", temp.File("d.jsonl"));
        using var tokenizer = ModelTokenizer.Load(TokenizerFixtures.Folder("llama2"));
        Assert.Equal(tokenizer.Encode("Hello world").Append(2), data.Examples[0].InputIds);
        Assert.Equal(data.Examples[0].InputIds, data.Examples[0].Labels);
        Assert.Equal(2, data.Summary.Records);
        Assert.Equal(DatasetFormat.Text, data.Summary.Formats.Single().Key);
    }

    [Fact]
    public void Prompt_completion_records_learn_only_the_completion()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp.File("d.jsonl"), "{\"prompt\": \"Question: 2+2?\\nAnswer:\", \"completion\": \" 4\"}\n");
        var data = Build("llama3-trimmed", temp.File("d.jsonl"));
        using var tokenizer = ModelTokenizer.Load(TokenizerFixtures.Folder("llama3-trimmed"));
        var prompt = tokenizer.Encode("Question: 2+2?\nAnswer:");
        var all = tokenizer.Encode("Question: 2+2?\nAnswer: 4").Append(tokenizer.EosTokenId!.Value).ToArray();
        Assert.Equal(all, data.Examples[0].InputIds);
        Assert.All(data.Examples[0].Labels.Take(prompt.Length), l => Assert.Equal(-100, l));
        Assert.Equal(all.Skip(prompt.Length), data.Examples[0].Labels.Skip(prompt.Length));
        Assert.Equal(all.Length - prompt.Length, data.Summary.LabelledTokens);
    }

    [Fact]
    public void Messages_are_rendered_with_the_chat_template_and_tokenised_without_added_specials()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp.File("d.jsonl"), "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello!\"}]}\n");
        var data = Build("gemma3-trimmed", temp.File("d.jsonl"));
        using var tokenizer = ModelTokenizer.Load(TokenizerFixtures.Folder("gemma3-trimmed"));
        var expected = tokenizer.Encode("<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n", addSpecialTokens: false);
        Assert.Equal(expected, data.Examples[0].InputIds);
        Assert.Equal(2, expected.Count(i => i == tokenizer.TokenToId("<start_of_turn>")));
        Assert.Equal(1, expected.Count(i => i == tokenizer.BosTokenId));
        Assert.Equal(ChatTemplateShape.Gemma, data.Summary.ChatTemplate);
    }

    [Fact]
    public void Plain_text_files_make_one_record_per_non_blank_line()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp.File("d.txt"), "first line\n\n   \nsecond line\n");
        var data = Build("gpt2", temp.File("d.txt"));
        Assert.Equal(2, data.Summary.Records);
        Assert.Equal(50256, data.Examples[1].InputIds[^1]);
    }

    [Fact]
    public void A_malformed_line_is_reported_with_file_and_line_number()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp.File("d.jsonl"), "{\"text\": \"ok\"}\n{\"text\": \"broken\n{\"text\": \"ok\"}\n");
        var e = Assert.Throws<InvalidDatasetException>(() => Build("gpt2", temp.File("d.jsonl")));
        Assert.Equal(2, e.Line);
        Assert.Contains($"'{temp.File("d.jsonl")}' line 2 is not valid JSON", e.Message);
        Assert.Equal("InvalidDataset", e.ErrorId);

        File.WriteAllText(temp.File("e.jsonl"), "{\"text\": \"ok\"}\n{\"prompt\": \"no completion\"}\n");
        e = Assert.Throws<InvalidDatasetException>(() => Build("gpt2", temp.File("e.jsonl")));
        Assert.Contains("line 2 has \"prompt\" but no \"completion\"", e.Message);

        File.WriteAllText(temp.File("f.jsonl"), "{\"question\": \"?\"}\n");
        e = Assert.Throws<InvalidDatasetException>(() => Build("gpt2", temp.File("f.jsonl")));
        Assert.Contains("line 1 has none of the fields a record needs (it has \"question\")", e.Message);
    }

    [Fact]
    public void A_dataset_that_tokenises_to_nothing_is_an_error()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp.File("empty.jsonl"), "\n\n");
        var e = Assert.Throws<InvalidDatasetException>(() => Build("gpt2", temp.File("empty.jsonl")));
        Assert.Contains("holds no records", e.Message);
        File.WriteAllText(temp.File("nothing.jsonl"), "{\"text\": \"\"}\n");
        e = Assert.Throws<InvalidDatasetException>(() => Build("qwen3-trimmed", temp.File("nothing.jsonl"), new DatasetOptions { AddEos = false }));
        Assert.Contains("tokenises to nothing", e.Message);
    }

    [Fact]
    public void Messages_without_a_usable_template_name_the_tokenizer_config()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp.File("d.jsonl"), "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}\n");
        var e = Assert.Throws<InvalidDatasetException>(() => Build("llama2", temp.File("d.jsonl")));
        Assert.Contains(Path.Combine(TokenizerFixtures.Folder("llama2"), "tokenizer_config.json"), e.Message);
    }

    [Fact]
    public void Truncation_cuts_long_examples_and_packing_fills_sequences()
    {
        using var temp = new TempFolder();
        File.WriteAllLines(temp.File("d.txt"), Enumerable.Range(0, 10).Select(i => $"line {i} has a few words in it"));
        var truncated = Build("gpt2", temp.File("d.txt"), new DatasetOptions { MaxLength = 4 });
        Assert.Equal(10, truncated.Examples.Count);
        Assert.All(truncated.Examples, e => Assert.Equal(4, e.InputIds.Count));
        Assert.Equal(10, truncated.Summary.Truncated);

        var whole = Build("gpt2", temp.File("d.txt"), new DatasetOptions { MaxLength = 1000 });
        var packed = Build("gpt2", temp.File("d.txt"), new DatasetOptions { MaxLength = 16, Packing = true });
        var stream = whole.Examples.SelectMany(e => e.InputIds).ToArray();
        Assert.Equal(stream, packed.Examples.SelectMany(e => e.InputIds));
        Assert.All(packed.Examples.SkipLast(1), e => Assert.Equal(16, e.InputIds.Count));
        Assert.Equal((stream.Length + 15) / 16, packed.Examples.Count);
    }

    [Fact]
    public void Batches_pad_right_with_masks_and_ignored_labels()
    {
        var collator = new DataCollator(padTokenId: 0);
        var examples = new[]
        {
            new TokenizedExample(new[] { 5, 6, 7 }, new[] { -100, 6, 7 }),
            new TokenizedExample(new[] { 8 }, new[] { 8 }),
        };
        using var batch = collator.Collate(examples);
        Assert.Equal(ScalarType.Int64, batch.InputIds.dtype);
        Assert.Equal(new long[] { 2, 3 }, batch.InputIds.shape);
        Assert.Equal(new long[] { 5, 6, 7, 8, 0, 0 }, batch.InputIds.data<long>().ToArray());
        Assert.Equal(new long[] { 1, 1, 1, 1, 0, 0 }, batch.AttentionMask.data<long>().ToArray());
        Assert.Equal(new long[] { -100, 6, 7, 8, -100, -100 }, batch.Labels.data<long>().ToArray());
        using var padded = new DataCollator(0, padToMultipleOf: 8).Collate(examples);
        Assert.Equal(8, padded.Length);
    }

    [Fact]
    public void Dataset_batches_cover_every_example_once_shuffled_or_not()
    {
        using var temp = new TempFolder();
        File.WriteAllLines(temp.File("d.txt"), Enumerable.Range(0, 7).Select(i => $"example {i}"));
        var data = Build("llama3-trimmed", temp.File("d.txt"));
        var sizes = data.Batches(3).Select(b => { using (b) return b.Size; }).ToArray();
        Assert.Equal(new long[] { 3, 3, 1 }, sizes);
        var firstIds = data.Batches(7, shuffle: true, seed: 1).Select(b => { using (b) return b.InputIds[.., 1].data<long>().ToArray(); }).Single();
        Assert.Equal(data.Examples.Select(e => (long)e.InputIds[1]).Order(), firstIds.Order());
    }
}
