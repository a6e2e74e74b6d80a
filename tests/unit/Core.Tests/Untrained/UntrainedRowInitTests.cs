using System;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tests.Models;
using TrainableTokens.Core.Training;
using TrainableTokens.Core.Tuners.TrainableTokens;
using TrainableTokens.Core.Untrained;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Untrained;

public sealed class UntrainedRowInitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-meaninit-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Tensor MeanWithout(Tensor weight, params long[] left)
    {
        var keep = Enumerable.Range(0, (int)weight.shape[0]).Select(i => (long)i).Except(left).ToArray();
        return weight.index_select(0, tensor(keep)).to(ScalarType.Float64).mean(new long[] { 0 }).to(ScalarType.Float32);
    }

    [Fact]
    public void Untrained_trainable_rows_start_from_the_mean_of_the_trained_rows_in_the_embedding_and_an_untied_head()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", VocabSize = 64, HiddenSize = 16, TieWordEmbeddings = false, Seed = 4 });
        using (no_grad())
        {
            UntrainedModels.MakeUntrainedRows(model.InputEmbedding.Weight);
            model.Head.Weight[7L].zero_();
        }
        var embedding = model.InputEmbedding.Weight.clone();
        var head = model.Head.Weight.clone();
        using var tuner = new TrainableTokensModel(model);
        tuner.AddAdapter("a", new TrainableTokensAdapterConfig
        {
            TokenIndices = new long[] { 5, 7, 10, 33 },
            TargetModules = TargetModules.Names(new[] { "embed_tokens", "lm_head" }),
        });

        var initialised = UntrainedRowInit.FromMean(tuner, "a");

        Assert.Equal(new[] { ("lm_head", new long[] { 7 }), ("model.embed_tokens", new long[] { 5, 10 }) },
            initialised.Select(r => (r.Module, r.TokenIds.ToArray())));
        var rows = tuner.Layers["model.embed_tokens"].Adapters["a"];
        var embeddingMean = MeanWithout(embedding, 5, 10, 11, 12, 20);
        Assert.True(rows.Values[0].allclose(embeddingMean, rtol: 1e-6, atol: 1e-7), "row 5 is the mean of the trained rows");
        Assert.True(rows.Values[2].allclose(embeddingMean, rtol: 1e-6, atol: 1e-7), "row 10 is the mean of the trained rows");
        Assert.True(rows.Values[1].eq(embedding[7L]).all().item<bool>(), "row 7 of the embedding is trained: kept");
        Assert.True(rows.Values[3].eq(embedding[33L]).all().item<bool>(), "row 33 is trained: kept");
        Assert.True(rows.Originals.eq(embedding.index_select(0, tensor(new long[] { 5, 7, 10, 33 }))).all().item<bool>(), "originals stay the base rows");
        var headRows = tuner.Layers["lm_head"].Adapters["a"];
        Assert.True(headRows.Values[1].allclose(MeanWithout(head, 7), rtol: 1e-6, atol: 1e-7), "head row 7 is the head's trained mean");
        Assert.True(headRows.Values[0].eq(head[5L]).all().item<bool>(), "head row 5 is trained: kept");
        Assert.Contains("5, 10 in model.embed_tokens", UntrainedRowInit.Describe(initialised));
    }

    private RunConfig Run(string model, bool initWeights, string output) => new()
    {
        TrainableTokens = new TrainableTokensConfig { TokenIndices = new[] { 10002, 10003 }, InitWeights = initWeights },
        Training = new TrainingConfig
        {
            BaseModel = model, Dataset = UntrainedModels.QuickstartData, OutputDir = Path.Combine(_dir, output),
            LearningRate = 0.01, LrSchedulerType = "constant", MaxSteps = 1, PerDeviceTrainBatchSize = 4, MaxSeqLength = 32, Seed = 7,
        },
    };

    [Fact]
    public void Training_starts_untrained_rows_from_the_mean_and_the_result_says_so_only_with_init_weights()
    {
        var model = UntrainedModels.Llama3WithReservedRows(Path.Combine(_dir, "llama3"));

        var result = Trainer.Run(new TrainingRequest(Run(model, initWeights: true, "mean")));
        var random = Trainer.Run(new TrainingRequest(Run(model, initWeights: false, "random")));
        var plain = Trainer.Run(new TrainingRequest(Run(UntrainedModels.Llama3, initWeights: true, "plain")));

        Assert.Equal(new long[] { 10002, 10003 }, result.MeanInitialisedTokens);
        Assert.Contains("started from the mean of the trained rows: 10002, 10003 in model.embed_tokens", result.Message);
        Assert.Empty(random.MeanInitialisedTokens);
        Assert.DoesNotContain("mean of the trained rows", random.Message);
        Assert.Empty(plain.MeanInitialisedTokens);
    }

    [Fact]
    public void A_resumed_run_keeps_the_checkpoints_rows_and_initialises_nothing()
    {
        var model = UntrainedModels.Llama3WithReservedRows(Path.Combine(_dir, "llama3"));
        var first = Run(model, initWeights: true, "resume");
        first = first with { Training = first.Training! with { MaxSteps = 2, SaveSteps = 1 } };
        var interrupted = Trainer.Run(new TrainingRequest(first));
        var checkpoint = Assert.Single(interrupted.Checkpoints, c => c.EndsWith("checkpoint-1", StringComparison.Ordinal));

        var resumed = Trainer.Run(new TrainingRequest(first with { Training = first.Training! with { ResumeFromCheckpoint = checkpoint } }));

        Assert.Equal(new long[] { 10002, 10003 }, interrupted.MeanInitialisedTokens);
        Assert.Empty(resumed.MeanInitialisedTokens);
        Assert.DoesNotContain("mean of the trained rows", resumed.Message);
    }
}
