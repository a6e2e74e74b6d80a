using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Scoring;
using TrainableTokens.Core.Training;
using TrainableTokens.Core.Training.Data;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Scoring;

/// <summary>Scoring on the tiny Llama 3 model: the numbers are the trainer's, and bad input is refused before any compute.</summary>
public sealed class ModelScorerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-score-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Text = "<|reserved_special_token_0|> The tiny model learns what the new token means.";

    /// <summary>A short run that evaluates on the quickstart data (as eval_dataset) before and after training.</summary>
    private TrainingResult Train(string output, int evalBatchSize)
    {
        var train = new TrainingConfig
        {
            BaseModel = Examples.Llama3, Dataset = Examples.QuickstartData, EvalDataset = Examples.QuickstartData, OutputDir = Path.Combine(_dir, output),
            LearningRate = 0.05, MaxSteps = 4, PerDeviceTrainBatchSize = 2, PerDeviceEvalBatchSize = evalBatchSize, MaxSeqLength = 64, Seed = 3,
            LoggingSteps = 2, SaveSteps = 100,
        };
        return Trainer.Run(new TrainingRequest(new RunConfig { TrainableTokens = new TrainableTokensConfig { TokenIndices = new[] { 10002, 10003 } }, Training = train }));
    }

    [Fact]
    public void Dataset_loss_with_and_without_the_adapter_equals_the_trainers_eval_loss_after_and_before_training()
    {
        var result = Train("run", evalBatchSize: 3);
        Assert.NotNull(result.EvalLossBefore);
        Assert.NotNull(result.EvalLoss);
        Assert.NotEqual(result.EvalLossBefore, result.EvalLoss);

        using var scorer = ModelScorer.Open(new ScoringModel(Examples.Llama3, [result.AdapterFolder!]));
        var data = scorer.ReadDataset(Examples.QuickstartData, 64);
        var adapted = scorer.Score(data, Examples.QuickstartData, batchSize: 3);
        var baseline = scorer.Score(data, Examples.QuickstartData, batchSize: 3, withAdapters: false);

        Assert.Equal(result.EvalLoss!.Value, adapted.Loss, 12);
        Assert.Equal(result.EvalLossBefore!.Value, baseline.Loss, 12);
        Assert.Equal([result.AdapterFolder!], adapted.Adapters);
        Assert.Empty(baseline.Adapters);
        Assert.Equal(Math.Exp(adapted.Loss), adapted.Perplexity, 12);
        // Another batch size pads differently; the mean over labelled tokens stays the same (to float32 rounding).
        Assert.Equal(adapted.Loss, scorer.Score(data, Examples.QuickstartData, batchSize: 1).Loss, 5);
    }

    [Fact]
    public void Without_adapters_the_score_is_the_base_models_exactly()
    {
        var adapter = WriteAdapter("shifted", [10002, 10003], hidden: 32, value: 0.3f);
        using var plain = ModelScorer.Open(new ScoringModel(Examples.Llama3, []));
        using var adapted = ModelScorer.Open(new ScoringModel(Examples.Llama3, [adapter]));
        var data = plain.ReadDataset(Examples.QuickstartData, 64);
        var expected = plain.Score(data, "q", 2).Loss;
        Assert.Equal(expected, adapted.Score(data, "q", 2, withAdapters: false).Loss);
        Assert.NotEqual(expected, adapted.Score(data, "q", 2).Loss);
        // And the adapters are active again afterwards.
        Assert.Equal(adapted.Score(data, "q", 2).Loss, adapted.Score(data, "q", 2).Loss);
    }

    [Fact]
    public void Token_log_probabilities_sum_to_minus_the_sequence_loss_and_perplexity_is_exp_of_the_mean()
    {
        using var scorer = ModelScorer.Open(new ScoringModel(Examples.Llama3, []));
        var score = scorer.ScoreText(Text);
        Assert.Equal(score.InputIds.Count - 1, score.Tokens.Count);
        Assert.Equal(Enumerable.Range(1, score.Tokens.Count), score.Tokens.Select(t => t.Position));

        // The same ids through the trainer's loss, as one example with every token labelled.
        using var batch = new DataCollator(0).Collate([new TokenizedExample(score.InputIds.ToList(), score.InputIds.ToList())]);
        using var model = TrainableTokens.Core.Models.ModelLoader.Load(Examples.Llama3);
        var (summed, labelled) = EvaluationLoss.Over(model, [batch]);
        Assert.Equal(score.Tokens.Count, labelled);
        Assert.Equal(-summed, score.SumLogProbability, 3);
        Assert.Equal(summed / labelled, score.Loss, 5);
        Assert.Equal(Math.Exp(score.Loss), score.Perplexity, 12);
        Assert.All(score.Tokens, t => Assert.InRange(t.Probability, 0, 1));
        Assert.All(score.Tokens, t => Assert.True(t.Rank >= 1));
    }

    [Fact]
    public void The_probability_of_a_token_after_a_prompt_is_that_of_the_text_with_the_token_appended()
    {
        using var scorer = ModelScorer.Open(new ScoringModel(Examples.Llama3, []));
        const string prompt = "What does the new token start?";
        var next = scorer.ScoreNext(prompt, ["<|reserved_special_token_0|>", " A"], top: 3);
        Assert.Equal(2, next.Count);
        Assert.Equal(10002, next[0].TokenId);
        var text = scorer.ScoreText(prompt + "<|reserved_special_token_0|>");
        Assert.Equal(10002, text.Tokens[^1].Id);
        Assert.Equal(text.Tokens[^1].LogProbability, next[0].LogProbability, 5);
        Assert.Equal(text.Tokens[^1].Rank, next[0].Rank);
        Assert.Equal(3, next[0].Top.Count);
        Assert.True(next[0].Top[0].Probability >= next[0].Top[1].Probability);
        // The top candidate has rank 1.
        var best = scorer.ScoreNext(prompt, [next[0].Top[0].Token!])[0];
        Assert.Equal(1, best.Rank);
        Assert.True(best.IsTop);
        Assert.Equal(next[0].Top[0].Probability, best.Probability, 6);
    }

    [Fact]
    public void An_adapter_for_another_model_is_refused_before_the_model_loads()
    {
        var wide = WriteAdapter("wide", [10002], hidden: 64, value: 0.1f);
        var e = Assert.Throws<InvalidAdapterException>(() => ModelScorer.Open(new ScoringModel(Examples.Llama3, [wide])));
        Assert.Contains("hidden size 32", e.Message);
        Assert.Contains("[1, 64]", e.Message);

        var beyond = WriteAdapter("beyond", [20000], hidden: 32, value: 0.1f);
        e = Assert.Throws<InvalidAdapterException>(() => ModelScorer.Open(new ScoringModel(Examples.Llama3, [beyond])));
        Assert.Contains("20000", e.Message);
        Assert.Contains("vocabulary of 10256", e.Message);

        var gpt2 = WriteAdapter("gpt2", [10002], hidden: 32, value: 0.1f, module: "transformer.wte");
        e = Assert.Throws<InvalidAdapterException>(() => ModelScorer.Open(new ScoringModel(Examples.Llama3, [gpt2])));
        Assert.Contains("transformer.wte", e.Message);
    }

    [Fact]
    public void Overlapping_adapters_a_missing_dataset_and_a_text_past_the_models_positions_get_clear_errors()
    {
        var a = WriteAdapter("a", [10002, 10003], hidden: 32, value: 0.1f);
        var b = WriteAdapter("b", [10003], hidden: 32, value: 0.2f);
        Assert.Throws<AdapterConflictException>(() => ModelScorer.Open(new ScoringModel(Examples.Llama3, [a, b])));
        Assert.Contains("cpu, cuda or cuda:N", Assert.Throws<UnusableDeviceException>(() => ModelScorer.Open(new ScoringModel(Examples.Llama3, []) { Device = "gpu0" })).Message);

        using var scorer = ModelScorer.Open(new ScoringModel(Examples.Llama3, []));
        var missing = Path.Combine(_dir, "nope.jsonl");
        var d = Assert.Throws<InvalidDatasetException>(() => scorer.ReadDataset(missing, 64));
        Assert.Contains("does not exist", d.Message);
        var t = Assert.Throws<SequenceTooLongException>(() => scorer.ScoreText(string.Join(" ", Enumerable.Repeat("word", 200))));
        Assert.Contains("at most 128 positions", t.Message);
        Assert.Throws<SequenceTooLongException>(() => scorer.ReadDataset(Examples.QuickstartData, 129));
        Assert.Throws<NotOneTokenException>(() => scorer.ScoreNext("Hi", ["two words"]));
        // Only the bos token: nothing to score, said as a user error.
        Assert.Contains("at least two", Assert.Throws<SequenceTooShortException>(() => scorer.ScoreText("")).Message);
    }

    [Fact]
    public void A_token_of_the_tokenizer_past_the_models_vocabulary_is_a_token_id_error_not_an_index_error()
    {
        // The tokenizer knows <|reserved_special_token_0|> (12002), the model has rows up to 12000 (bos) only: not resized yet.
        var folder = Path.Combine(_dir, "short-vocab");
        Core.Models.TinyModelFactory.Create(folder, new Core.Models.TinyModelSpec { ModelType = "llama", VocabSize = 12001, HiddenSize = 16, IntermediateSize = 32, NumLayers = 1 });
        Core.Tokenization.TokenizerFiles.CopyInto(Tests.Tokenization.TokenizerFixtures.Folder("llama3-trimmed"), folder);
        using var scorer = ModelScorer.Open(new ScoringModel(folder, []));
        var e = Assert.Throws<TokenIdOutOfRangeException>(() => scorer.ScoreNext("Hi", ["<|reserved_special_token_0|>"]));
        Assert.Contains("12002", e.Message);
    }

    /// <summary>A PEFT-format adapter written directly: rows [k, hidden] of one value for <paramref name="module"/>.</summary>
    private string WriteAdapter(string name, long[] ids, int hidden, float value, string module = "model.embed_tokens")
    {
        var folder = Path.Combine(_dir, name);
        Directory.CreateDirectory(folder);
        var config = new TrainableTokensAdapterConfig { TokenIndices = ids, TargetModules = TargetModules.Regex(module) };
        File.WriteAllText(Path.Combine(folder, TrainableTokensAdapterConfig.FileName), config.ToJson());
        using var rows = full(ids.Length, hidden, value);
        SafetensorsWriter.Write(Path.Combine(folder, AdapterFolder.WeightsFileName), [new KeyValuePair<string, Tensor>(AdapterFolder.KeyFor(module), rows)],
            new Dictionary<string, string> { ["format"] = "pt" });
        return folder;
    }
}
