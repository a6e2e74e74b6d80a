using System;
using System.IO;
using System.Linq;
using TorchSharp.Modules;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tests.Models;
using TrainableTokens.Core.Training;
using TrainableTokens.Core.Training.Data;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;
using AdamWState = TorchSharp.Modules.AdamW.State;

namespace TrainableTokens.Core.Tests.Training;

/// <summary>gradient_checkpointing and bfloat16 runs end to end: the same adapter with and without checkpointing, and a
/// bfloat16 model trains float32 rows with float32 optimizer state.</summary>
public sealed class TrainerMemoryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-memory-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The tiny Llama 3 example (tied), or an untied copy of its shape with the same tokenizer.</summary>
    private string Model(bool tied)
    {
        if (tied) return Examples.Llama3;
        var folder = Path.Combine(_dir, "untied");
        if (!Directory.Exists(folder))
            TinyModelFactory.Create(folder, new TinyModelSpec
            {
                ModelType = "llama", Seed = 3, TieWordEmbeddings = false, HiddenSize = 32, IntermediateSize = 64, NumLayers = 3,
                NumHeads = 4, NumKeyValueHeads = 2, TokenizerFolder = Examples.Llama3,
            });
        return folder;
    }

    private RunConfig Run(string model, string output, bool checkpointing, string dtype, bool head) => new()
    {
        TrainableTokens = new TrainableTokensConfig
        {
            TokenIndices = new[] { 10002, 10003 },
            TargetModules = head ? StringOrList.FromList(new[] { "embed_tokens", "lm_head" }) : null,
        },
        Training = new TrainingConfig
        {
            BaseModel = model, Dataset = Examples.QuickstartData, OutputDir = Path.Combine(_dir, output),
            LearningRate = 0.05, LrSchedulerType = "constant", MaxSteps = 6, PerDeviceTrainBatchSize = 4, MaxSeqLength = 64,
            Seed = 7, Dtype = dtype, GradientCheckpointing = checkpointing,
        },
    };

    private static Tensor Rows(string adapterFolder, string key)
    {
        using var file = SafetensorsFile.Open(Path.Combine(adapterFolder, "adapter_model.safetensors"));
        Assert.Equal(SafetensorsDType.F32, file.Info(key).DType);
        return file.Load(key).DetachFromDisposeScope();
    }

    [Theory]
    [InlineData(true, "float32")]
    [InlineData(false, "float32")]
    [InlineData(true, "bfloat16")]
    [InlineData(false, "bfloat16")]
    public void A_run_with_gradient_checkpointing_trains_the_same_adapter(bool tied, string dtype)
    {
        var model = Model(tied);
        var plain = Trainer.Run(new TrainingRequest(Run(model, "plain", checkpointing: false, dtype, head: !tied)));
        var checkpointed = Trainer.Run(new TrainingRequest(Run(model, "checkpointed", checkpointing: true, dtype, head: !tied)));
        Assert.Equal(plain.FirstLoss, checkpointed.FirstLoss);
        Assert.True(checkpointed.FinalLoss < checkpointed.FirstLoss, $"loss {checkpointed.FirstLoss} -> {checkpointed.FinalLoss}");
        var keys = tied
            ? new[] { "base_model.model.model.embed_tokens.trainable_tokens_delta" }
            : new[] { "base_model.model.model.embed_tokens.trainable_tokens_delta", "base_model.model.lm_head.trainable_tokens_delta" };
        foreach (var key in keys)
        {
            using var expected = Rows(plain.AdapterFolder!, key);
            using var actual = Rows(checkpointed.AdapterFolder!, key);
            var difference = (expected - actual).abs().max().item<float>();
            Assert.True(difference <= 1e-6, $"{key}: the adapters differ by {difference}");
        }
        // The rows did train: they differ from the model's own rows.
        using var loaded = ModelLoader.Load(model);
        using var index = tensor(new long[] { 10002, 10003 });
        using var start = loaded.InputEmbedding.Weight.index_select(0, index).to(ScalarType.Float32);
        using var trained = Rows(checkpointed.AdapterFolder!, keys[0]);
        Assert.True((trained - start).abs().max().item<float>() > 1e-3);
    }

    [Fact]
    public void A_bfloat16_model_trains_float32_rows_with_float32_gradients_and_optimizer_state()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Build(new TinyModelSpec { ModelType = "llama", Seed = 5, TieWordEmbeddings = false }, ScalarType.BFloat16);
        using var tuner = new TrainableTokensModel(model);
        tuner.AddAdapter("default", new TrainableTokensAdapterConfig { TokenIndices = new long[] { 5, 6 }, TargetModules = TargetModules.Names(new[] { "embed_tokens", "lm_head" }) });
        var parameters = tuner.TrainableParameters("default");
        Assert.Equal(2, parameters.Count);
        using var optimizer = optim.AdamW(parameters, lr: 0.05);
        var ids = tensor(new long[] { 3, 5, 9, 6, 11, 5, 40, 6, 17, 5, 2, 6 }, new long[] { 1, 12 });
        using var batch = new Batch(ids, ones_like(ids), ids.clone(), ids.numel(), ids.numel() - 1);
        var losses = new double[6];
        foreach (var checkpointing in new[] { false, true })
        {
            for (int step = 0; step < losses.Length; step++)
            {
                optimizer.zero_grad();
                using var loss = BatchBackward.Run(model, batch, EvaluationLoss.Labelled(batch), checkpointing);
                losses[step] = loss.item<float>();
                foreach (var p in parameters)
                {
                    Assert.Equal(ScalarType.Float32, p.dtype);
                    Assert.Equal(ScalarType.Float32, p.grad!.dtype);
                }
                optimizer.step();
            }
            Assert.True(losses[^1] < losses[0], $"loss {losses[0]} -> {losses[^1]}");
        }
        var states = optimizer.state_dict().State;
        Assert.Equal(2, states.Count);
        foreach (AdamWState s in states)
        {
            Assert.Equal(ScalarType.Float32, s.exp_avg.dtype);
            Assert.Equal(ScalarType.Float32, s.exp_avg_sq.dtype);
        }
        Assert.All(parameters, p => Assert.Equal(ScalarType.Float32, p.dtype));
        // The forward still computes in bfloat16: the rows enter cast to the model's dtype.
        using var noGrad = no_grad();
        using var output = model.Forward(ids);
        Assert.Equal(ScalarType.BFloat16, output.Logits.dtype);
    }
}
