using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tests.Models;
using TrainableTokens.Core.Training;
using TrainableTokens.Core.Training.Data;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Training;

/// <summary>
/// The chunked loss and gradient checkpointing change memory, not results: the loss and every gradient equal the
/// whole-logits loss of <see cref="CausalLanguageModel.Forward"/> (the formula the trainer used before), with or
/// without checkpointing, for adapter rows in the embedding and the head and for parameters inside decoder layers.
/// </summary>
// Alone, not beside other tests: the dropout test seeds and reads torch's process-wide RNG, which a test drawing on
// another thread would move (it failed that way in a full run).
[Collection(nameof(LoraTrainingTests))]
public sealed class MemoryBackwardTests : IDisposable
{
    public MemoryBackwardTests() => ChunkedCrossEntropy.PositionsPerChunkOverride = null;

    public void Dispose() => ChunkedCrossEntropy.PositionsPerChunkOverride = null;

    /// <summary>Two rows, the second padded on the right; a prompt position without a label; trained tokens 5 and 6 in both.</summary>
    private static Batch MakeBatch()
    {
        long[] first = { 3, 5, 9, 6, 11, 5, 40, 2, 17, 6 }, second = { 6, 12, 5, 33, 8, 1, 0, 0, 0, 0 };
        var ids = tensor(first.Concat(second).ToArray(), new long[] { 2, 10 });
        var mask = tensor(Enumerable.Repeat(1L, 16).Concat(Enumerable.Repeat(0L, 4)).ToArray(), new long[] { 2, 10 });
        var labels = ids.clone().masked_fill(mask.eq(0), TokenizedExample.IgnoreIndex);
        labels[0, 1] = TokenizedExample.IgnoreIndex;
        return new Batch(ids, mask, labels, mask.sum().item<long>(), labels[.., 1..].ne(TokenizedExample.IgnoreIndex).sum().item<long>());
    }

    /// <summary>The loss as the trainer computed it before: whole [batch, seq, vocab] logits from Forward, float32.</summary>
    private static Tensor WholeLogitsLoss(CausalLanguageModel model, Batch batch)
    {
        using var output = model.Forward(batch.InputIds, batch.AttentionMask);
        var vocab = output.Logits.shape[^1];
        var logits = output.Logits[.., ..^1, ..].to(ScalarType.Float32).reshape(-1, vocab);
        return nn.functional.cross_entropy(logits, batch.Labels[.., 1..].reshape(-1), ignore_index: TokenizedExample.IgnoreIndex, reduction: nn.Reduction.Sum);
    }

    /// <summary>A rank-2 low-rank update beside one projection, as a LoRA tuner adds one: parameters inside a decoder layer.</summary>
    private sealed class LowRank : ILinearLayer
    {
        public LowRank(ILinearLayer inner, int inFeatures, int outFeatures, ScalarType dtype, double dropout = 0)
        {
            _dropout = dropout;
            Base = inner;
            A = new Parameter(randn(new long[] { 2, inFeatures }, generator: new Generator(3)) * 0.1, requires_grad: true);
            B = new Parameter(randn(new long[] { outFeatures, 2 }, generator: new Generator(4)) * 0.1, requires_grad: true);
            _dtype = dtype;
        }

        private readonly ScalarType _dtype;
        private readonly double _dropout;
        public ILinearLayer Base { get; }
        public Parameter A { get; }
        public Parameter B { get; }
        public string Path => Base.Path;
        public Tensor Weight => Base.Weight;
        public Tensor? Bias => Base.Bias;
        public bool FanInFanOut => Base.FanInFanOut;
        public Tensor Forward(Tensor x)
        {
            var dropped = _dropout > 0 ? nn.functional.dropout(x, _dropout, training: true) : x;
            return Base.Forward(x) + nn.functional.linear(nn.functional.linear(dropped, A.to(_dtype)), B.to(_dtype));
        }
    }

    private sealed record Setup(CausalLanguageModel Model, TrainableTokensModel? Tuner, IReadOnlyList<Parameter> Parameters) : IDisposable
    {
        public void Dispose()
        {
            Tuner?.Dispose();
            Model.Dispose();
        }
    }

    /// <param name="targets">"embed", "embed+head" (untied), "head" (untied head only), or "none".</param>
    /// <param name="lowRankLayer">Puts a low-rank update into this layer's first MLP projection, or none when null.</param>
    private static Setup Build(string type, bool tied, string targets, ScalarType dtype, int? lowRankLayer = null, int layers = 3, double dropout = 0)
    {
        var model = TinyModels.Build(new TinyModelSpec { ModelType = type, Seed = 11, TieWordEmbeddings = tied, NumLayers = layers }, dtype);
        var parameters = new List<Parameter>();
        TrainableTokensModel? tuner = null;
        if (targets != "none")
        {
            tuner = new TrainableTokensModel(model);
            var names = targets switch { "embed" => null, "embed+head" => new[] { "embed_tokens", "lm_head" }, _ => new[] { "lm_head" } };
            if (type == "gpt2" && names is not null) names = names.Select(n => n == "embed_tokens" ? "wte" : n).ToArray();
            tuner.AddAdapter("default", new TrainableTokensAdapterConfig { TokenIndices = new long[] { 5, 6 }, TargetModules = names is null ? null : TargetModules.Names(names) });
            using (no_grad())
                foreach (var p in tuner.TrainableParameters("default")) p.add_(randn(p.shape, generator: new Generator(9)) * 0.05);
            parameters.AddRange(tuner.TrainableParameters("default"));
        }
        if (lowRankLayer is { } l)
        {
            var path = model.LinearLayers.Paths.Where(p => p.Contains($".{l}.")).First(p => p.Contains("mlp"));
            var inner = model.LinearLayers[path];
            var (outFeatures, inFeatures) = inner.FanInFanOut ? (inner.Weight.shape[1], inner.Weight.shape[0]) : (inner.Weight.shape[0], inner.Weight.shape[1]);
            var lowRank = new LowRank(inner, (int)inFeatures, (int)outFeatures, dtype, dropout);
            model.LinearLayers[path] = lowRank;
            parameters.Add(lowRank.A);
            parameters.Add(lowRank.B);
        }
        return new Setup(model, tuner, parameters);
    }

    private static (double Loss, Tensor[] Gradients) Gradients(Setup setup, Func<CausalLanguageModel, Batch, long, Tensor> lossBackward)
    {
        using var batch = MakeBatch();
        foreach (var p in setup.Parameters) p.grad = null;
        var labelled = EvaluationLoss.Labelled(batch);
        using var loss = lossBackward(setup.Model, batch, labelled);
        var grads = setup.Parameters.Select(p => p.grad!.detach().clone().DetachFromDisposeScope()).ToArray();
        return (loss.item<float>(), grads);
    }

    private static (double, Tensor[]) Reference(Setup setup) => Gradients(setup, (model, batch, labelled) =>
    {
        var sum = WholeLogitsLoss(model, batch);
        (sum / labelled).backward();
        return sum.detach();
    });

    private static void AssertClose(Tensor expected, Tensor actual, double tolerance, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(ScalarType.Float32, actual.dtype);
        var difference = (expected - actual).abs().max().item<float>();
        Assert.True(difference <= tolerance, $"{what}: max difference {difference} > {tolerance} (scale {expected.abs().max().item<float>()})");
        Assert.True(expected.abs().max().item<float>() > 0, $"{what}: the gradient is zero, so the test proves nothing");
    }

    [Theory]
    [InlineData("llama", true, "embed")]
    [InlineData("llama", false, "embed+head")]
    [InlineData("llama", false, "head")]
    [InlineData("gemma2", true, "embed")]
    [InlineData("gpt2", true, "embed")]
    public void Chunked_loss_gives_the_whole_logits_loss_and_gradients_for_any_chunk_size(string type, bool tied, string targets)
    {
        using var scope = NewDisposeScope();
        using var setup = Build(type, tied, targets, ScalarType.Float32);
        var (expectedLoss, expected) = Reference(setup);
        // 1: a chunk per position; 7: chunks that straddle the two rows; 1000: one chunk.
        foreach (var size in new long[] { 1, 7, 1000 })
        {
            ChunkedCrossEntropy.PositionsPerChunkOverride = size;
            var (loss, actual) = Gradients(setup, (model, batch, labelled) => BatchBackward.Run(model, batch, labelled, gradientCheckpointing: false));
            Assert.True(Math.Abs(expectedLoss - loss) <= 1e-6 * Math.Abs(expectedLoss), $"chunk {size}: loss {loss} vs {expectedLoss}");
            for (int i = 0; i < expected.Length; i++) AssertClose(expected[i], actual[i], 1e-6, $"chunk {size}, parameter {i}");
            using var batch = MakeBatch();
            using (no_grad())
            using (var evaluated = EvaluationLoss.Summed(setup.Model, batch))
                Assert.True(Math.Abs(expectedLoss - evaluated.item<float>()) <= 1e-6 * Math.Abs(expectedLoss), $"chunk {size}: eval loss {evaluated.item<float>()} vs {expectedLoss}");
        }
    }

    [Fact]
    public void Gemma2s_final_soft_cap_applies_to_every_chunk()
    {
        using var scope = NewDisposeScope();
        using var setup = Build("gemma2", true, "embed", ScalarType.Float32);
        Assert.NotNull(setup.Model.Config.FinalLogitSoftcap);
        using var batch = MakeBatch();
        using var noGrad = no_grad();
        using var whole = WholeLogitsLoss(setup.Model, batch);
        ChunkedCrossEntropy.PositionsPerChunkOverride = 3;
        using var chunked = EvaluationLoss.Summed(setup.Model, batch);
        Assert.True(Math.Abs(whole.item<float>() - chunked.item<float>()) <= 1e-6 * whole.item<float>(), $"{chunked.item<float>()} vs {whole.item<float>()}");
        // Without the cap the loss differs, so the comparison above would catch a chunk that skipped it.
        using var output = setup.Model.Forward(batch.InputIds, batch.AttentionMask, outputHiddenStates: true);
        using var uncapped = setup.Model.Head.Project(output.HiddenStates[^1]);
        Assert.False(uncapped.allclose(output.Logits, rtol: 1e-3, atol: 1e-3));
    }

    [Theory]
    [InlineData("llama", true, "embed", null)]
    [InlineData("llama", false, "embed+head", null)]
    [InlineData("llama", false, "head", null)]
    [InlineData("gemma2", true, "embed", null)]
    [InlineData("gpt2", true, "embed", null)]
    [InlineData("llama", true, "embed", 1)]
    [InlineData("llama", false, "head", 1)]
    [InlineData("llama", false, "none", 2)]
    [InlineData("qwen2", true, "none", 0)]
    public void Gradient_checkpointing_gives_the_same_gradients(string type, bool tied, string targets, int? lowRankLayer)
    {
        using var scope = NewDisposeScope();
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            using var setup = Build(type, tied, targets, dtype, lowRankLayer);
            ChunkedCrossEntropy.PositionsPerChunkOverride = 5;
            var (loss, plain) = Gradients(setup, (model, batch, labelled) => BatchBackward.Run(model, batch, labelled, gradientCheckpointing: false));
            var (checkpointedLoss, checkpointed) = Gradients(setup, (model, batch, labelled) => BatchBackward.Run(model, batch, labelled, gradientCheckpointing: true));
            Assert.Equal(loss, checkpointedLoss);
            Assert.Equal(setup.Parameters.Count, checkpointed.Length);
            for (int i = 0; i < plain.Length; i++) AssertClose(plain[i], checkpointed[i], 1e-6, $"{dtype}, parameter {i}");
            if (dtype == ScalarType.Float32)
            {
                // And both equal the whole-logits loss's gradients (bfloat16 rounds differently when logits are not chunked).
                var (_, expected) = Reference(setup);
                for (int i = 0; i < plain.Length; i++) AssertClose(expected[i], checkpointed[i], 1e-6, $"reference, parameter {i}");
            }
        }
    }
    /// <summary>Counts what the head is asked for: the most positions in one call.</summary>
    private sealed class RecordingHead : ILanguageModelHead
    {
        private readonly ILanguageModelHead _inner;
        public RecordingHead(ILanguageModelHead inner) => _inner = inner;
        public long MostPositions { get; private set; }
        public string Path => _inner.Path;
        public Tensor Weight => _inner.Weight;
        public Tensor? Bias => _inner.Bias;

        public Tensor Project(Tensor hidden)
        {
            MostPositions = Math.Max(MostPositions, hidden.numel() / hidden.shape[^1]);
            return _inner.Project(hidden);
        }
    }

    [Fact]
    public void Training_and_evaluation_ask_the_head_for_one_chunk_of_positions_at_a_time()
    {
        using var scope = NewDisposeScope();
        using var setup = Build("llama", true, "embed", ScalarType.Float32);
        var head = new RecordingHead(setup.Model.Head);
        setup.Model.Head = head;
        ChunkedCrossEntropy.PositionsPerChunkOverride = 4;
        using var batch = MakeBatch();
        foreach (var checkpointing in new[] { false, true })
            using (BatchBackward.Run(setup.Model, batch, 16, checkpointing)) { }
        using (no_grad()) using (EvaluationLoss.Summed(setup.Model, batch)) { }
        Assert.Equal(4, head.MostPositions);
        // The default chunk keeps a chunk's float32 logits at 64 MiB whatever the vocabulary.
        ChunkedCrossEntropy.PositionsPerChunkOverride = null;
        Assert.Equal(130, ChunkedCrossEntropy.PositionsPerChunk(128256));
        Assert.Equal(524, ChunkedCrossEntropy.PositionsPerChunk(32000));
    }

    /// <summary>Counts forwards of one projection.</summary>
    private sealed class CountingLinear : ILinearLayer
    {
        public CountingLinear(ILinearLayer inner) => Base = inner;
        public ILinearLayer Base { get; }
        public int Calls { get; private set; }
        public string Path => Base.Path;
        public Tensor Weight => Base.Weight;
        public Tensor? Bias => Base.Bias;
        public bool FanInFanOut => Base.FanInFanOut;

        public Tensor Forward(Tensor x)
        {
            Calls++;
            return Base.Forward(x);
        }
    }

    [Theory]
    [InlineData("embed", false, 1)]
    [InlineData("embed", true, 2)]
    // Only the untied head trains: nothing below the final norm needs a gradient, so no layer is recomputed.
    [InlineData("head", true, 1)]
    public void Gradient_checkpointing_recomputes_each_layer_once_in_the_backward_and_only_when_needed(string targets, bool checkpointing, int calls)
    {
        using var scope = NewDisposeScope();
        using var setup = Build("llama", targets == "head" ? false : true, targets, ScalarType.Float32);
        var counters = Enumerable.Range(0, 3).Select(l => new CountingLinear(setup.Model.LinearLayers[$"model.layers.{l}.self_attn.q_proj"])).ToList();
        foreach (var c in counters) setup.Model.LinearLayers[c.Path] = c;
        using var batch = MakeBatch();
        using (BatchBackward.Run(setup.Model, batch, 16, checkpointing)) { }
        Assert.All(counters, c => Assert.Equal(calls, c.Calls));
        Assert.All(setup.Parameters, p => Assert.NotNull(p.grad));
    }
    [Theory]
    [InlineData("embed")]
    [InlineData("none")]
    public void Gradient_checkpointing_recomputes_with_the_same_dropout_masks_and_leaves_the_generator_as_without_it(string targets)
    {
        using var scope = NewDisposeScope();
        using var setup = Build("llama", true, targets, ScalarType.Float32, lowRankLayer: 1, dropout: 0.5);
        (double, Tensor[], Tensor) Run(bool checkpointing)
        {
            manual_seed(21);
            var (loss, grads) = Gradients(setup, (model, batch, labelled) => BatchBackward.Run(model, batch, labelled, checkpointing));
            return (loss, grads, random.get_rng_state());
        }
        var (loss, plain, after) = Run(false);
        var (checkpointedLoss, checkpointed, checkpointedAfter) = Run(true);
        Assert.Equal(loss, checkpointedLoss);
        for (int i = 0; i < plain.Length; i++) AssertClose(plain[i], checkpointed[i], 1e-6, $"parameter {i}");
        Assert.True(after.eq(checkpointedAfter).all().item<bool>(), "the generator moved on differently");
        // The masks matter: another seed gives other gradients, so the equality above is not trivial.
        manual_seed(22);
        var (_, other) = Gradients(setup, (model, batch, labelled) => BatchBackward.Run(model, batch, labelled, false));
        Assert.False(other[^1].allclose(plain[^1]));
    }
}
