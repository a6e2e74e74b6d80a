using System;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Preflight;

namespace TrainableTokens.Core.Tests.Preflight;

/// <summary>The tokenizer-backed dataset check, on the tiny Llama 3 model (real tokenizer) shipped in examples/models.</summary>
public sealed class TokenizedDatasetCheckTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-dscheck-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Llama3 => Examples.Llama3;

    private DatasetIssue[] Check(string model, string jsonl, int maxLength = 64)
    {
        var data = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".jsonl");
        File.WriteAllText(data, jsonl);
        var training = new TrainingConfig { MaxSeqLength = maxLength };
        return TokenizedDatasetCheck.Check(new DatasetTokenizationContext(model, ModelConfigReader.ReadFolder(model), data, training)).ToArray();
    }

    [Fact]
    public void A_dataset_that_tokenises_to_training_tokens_passes()
    {
        Assert.Empty(Check(Llama3, "{\"text\": \"Hello there, tiny model.\"}\n{\"prompt\": \"Q: 2+2?\", \"completion\": \" 4\"}\n"));
    }

    [Fact]
    public void A_malformed_line_is_an_error_with_its_line_number()
    {
        var issue = Assert.Single(Check(Llama3, "{\"text\": \"fine\"}\n{\"text\": oops}\n"));
        Assert.Equal(ConfigSeverity.Error, issue.Severity);
        Assert.Contains("line 2", issue.Message);
    }

    [Fact]
    public void Records_longer_than_max_seq_length_are_a_warning()
    {
        var issue = Assert.Single(Check(Llama3, "{\"text\": \"" + string.Join(' ', Enumerable.Repeat("word", 200)) + "\"}\n", maxLength: 16));
        Assert.Equal(ConfigSeverity.Warning, issue.Severity);
        Assert.Contains("max_seq_length", issue.Message);
    }

    [Fact]
    public void A_tokenizer_larger_than_the_models_vocabulary_is_an_error_that_says_to_resize()
    {
        var model = Path.Combine(_dir, "small");
        TinyModelFactory.Create(model, new TinyModelSpec { ModelType = "llama", VocabSize = 128 });
        File.Copy(Path.Combine(Llama3, "tokenizer.json"), Path.Combine(model, "tokenizer.json"));
        File.Copy(Path.Combine(Llama3, "tokenizer_config.json"), Path.Combine(model, "tokenizer_config.json"));
        var issues = Check(model, "{\"text\": \"Hello\"}\n");
        Assert.Contains(issues, i => i.Severity == ConfigSeverity.Error && i.Message.Contains("Add-TokenizerToken"));
    }

    [Fact]
    public void A_model_folder_without_a_tokenizer_is_an_error_training_would_meet_not_a_crash()
    {
        var model = Path.Combine(_dir, "no-tokenizer");
        TinyModelFactory.Create(model, new TinyModelSpec { ModelType = "llama" });
        var issue = Assert.Single(Check(model, "{\"text\": \"Hello\"}\n"));
        Assert.Equal(ConfigSeverity.Error, issue.Severity);
        Assert.Contains("tokenizer.json", issue.Message);
    }
}
