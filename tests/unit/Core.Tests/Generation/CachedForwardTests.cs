using System;
using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Generation;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tests.Models;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Generation;

/// <summary>The cached forward against the plain one: the same greedy ids on every architecture, logits within 1e-5
/// per step, sliding windows past their length, chunked prompts, adapters.</summary>
public sealed class CachedForwardTests
{
    private static readonly long[] Prompt = { 5, 17, 3, 99, 42, 7, 64 };

    /// <summary>Every architecture, with a window of 4 where the architecture has sliding layers, so that 7 + 24 positions run past it.</summary>
    private static TinyModelSpec Spec(string type, int? window = null) => new()
    {
        ModelType = type,
        Seed = 3,
        SlidingWindow = window ?? (type is "mistral" or "qwen3" or "gemma2" or "gemma3_text" or "gemma3" ? 4 : null),
    };

    public static IEnumerable<object[]> Architectures => TinyModels.Architectures;

    /// <summary>The reference: the whole sequence through <see cref="CausalLanguageModel.Forward"/> each step, argmax of the last position.</summary>
    private static List<long> NoCacheGreedy(CausalLanguageModel model, IReadOnlyList<long> prompt, int count)
    {
        var sequence = prompt.ToList();
        using var noGrad = no_grad();
        for (int i = 0; i < count; i++)
        {
            using var scope = NewDisposeScope();
            using var output = model.Forward(tensor(sequence.ToArray(), new long[] { 1, sequence.Count }));
            sequence.Add(output.Logits[0, -1].argmax().item<long>());
        }
        return sequence.Skip(prompt.Count).ToList();
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Greedy_with_the_cache_gives_the_no_cache_argmax_ids_exactly(string type)
    {
        // The architecture's own head, and an untied one: a tied tiny head mostly echoes its input token, an untied
        // one wanders, so the second run compares ids that change from step to step.
        foreach (var tied in new bool?[] { null, false })
        {
            using var model = LivelyModels.Build(Spec(type) with { TieWordEmbeddings = tied });
            var expected = NoCacheGreedy(model, Prompt, 24);
            var result = TokenGenerator.Generate(model, Prompt, new GenerationSettings { MaxNewTokens = 24 });
            Assert.Equal(expected.Select(i => (int)i), result.GeneratedIds);
            Assert.Equal(StopReason.MaxNewTokens, result.StopReason);
            if (tied is false) Assert.True(expected.Distinct().Count() > 2, $"{type}: the untied model generates [{string.Join(", ", expected)}]");
        }
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Cached_logits_equal_the_plain_forward_within_1e_5_at_every_step(string type)
    {
        using var model = LivelyModels.Build(Spec(type));
        var sequence = Prompt.Concat(new long[] { 9, 33, 2, 71, 8, 120, 4, 4, 56, 13, 90, 27 }).ToArray();
        AssertStepsMatch(model, sequence, new[] { Prompt.Length }.Concat(Enumerable.Repeat(1, sequence.Length - Prompt.Length)).ToArray());
    }

    [Theory]
    [InlineData("mistral")]
    [InlineData("qwen3")]
    [InlineData("gemma2")]
    [InlineData("gemma3_text")]
    [InlineData("llama")]
    [InlineData("gpt2")]
    public void Prompts_fed_in_chunks_give_the_same_logits(string type)
    {
        // Chunks of 3 and 5 after a prefix need an explicit mask (queries after held keys, windows narrower than a chunk).
        using var model = LivelyModels.Build(Spec(type, type is "llama" or "gpt2" ? null : 3));
        var sequence = Prompt.Concat(new long[] { 9, 33, 2, 71, 8, 120, 4, 4, 56, 13, 90, 27 }).ToArray();
        AssertStepsMatch(model, sequence, new[] { 3, 5, 1, 3, 1, 5, 1 });
    }

    /// <summary>The largest relative difference seen (for the report).</summary>
    private static double Worst;

    private static void AssertStepsMatch(CausalLanguageModel model, long[] sequence, int[] chunks)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var full = model.Forward(tensor(sequence, new long[] { 1, sequence.Length }));
        using var cache = new KeyValueCache(model, capacityHint: 4);
        int at = 0;
        foreach (var n in chunks)
        {
            using var step = model.ForwardWithCache(tensor(sequence[at..(at + n)], new long[] { 1, n }), cache);
            var expected = full.Logits.narrow(1, at, n);
            // 1e-5 of the logits' scale: a one-position step sums in another order than the whole sequence's matmuls.
            double diff = (step.Logits - expected).abs().max().item<float>();
            double scale = Math.Max(1, expected.abs().max().item<float>());
            Assert.True(diff <= 1e-5 * scale, $"{model.Config.ModelType}: positions {at}..{at + n - 1} differ by {diff} (largest logit {scale})");
            Worst = Math.Max(Worst, diff / scale);
            at += n;
            Assert.Equal(at, cache.Length);
        }
        Assert.Equal(sequence.Length, at);
    }

    [Theory]
    [InlineData("mistral")]
    [InlineData("gemma2")]
    [InlineData("gemma3_text")]
    public void A_sliding_layer_holds_only_about_its_window(string type)
    {
        using var model = LivelyModels.Build(Spec(type));
        using var cache = new KeyValueCache(model, capacityHint: 64);
        using var noGrad = no_grad();
        for (long p = 0; p < 40; p++)
        {
            using var scope = NewDisposeScope();
            using var _ = model.ForwardWithCache(tensor(new[] { (p * 7) % 100 }, new long[] { 1, 1 }), cache);
        }
        var windows = model.Config.SlidingWindows;
        for (int l = 0; l < model.Config.NumLayers; l++)
        {
            var held = cache.HeldPositions[l];
            if (windows[l] is { } w) Assert.InRange(held, w, 2 * w);
            else Assert.Equal(40, held);
        }
        Assert.Contains(windows, w => w is not null);
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("gemma2")]
    [InlineData("gpt2")]
    [InlineData("qwen2")]
    public void Greedy_with_adapters_gives_the_no_cache_ids_and_differs_from_the_base(string type)
    {
        using var model = LivelyModels.Build(Spec(type));
        var baseIds = NoCacheGreedy(model, Prompt, 16);
        using var tuner = new TrainableTokensModel(model);
        // Two adapters with random rows for the tokens the base model generates and a few more, both active.
        var first = baseIds.Take(3).Distinct().ToArray();
        tuner.AddAdapter("a", new TrainableTokensAdapterConfig { TokenIndices = first, InitWeights = false }, new Generator(11));
        var second = Enumerable.Range(100, 8).Select(i => (long)i).Except(first).ToArray();
        tuner.AddAdapter("b", new TrainableTokensAdapterConfig { TokenIndices = second, InitWeights = false }, new Generator(12));
        tuner.SetActiveAdapters("a", "b");
        var expected = NoCacheGreedy(model, Prompt, 16);
        var result = TokenGenerator.Generate(model, Prompt, new GenerationSettings { MaxNewTokens = 16 });
        Assert.Equal(expected.Select(i => (int)i), result.GeneratedIds);
        Assert.NotEqual(baseIds, expected);
    }

    [Fact]
    public void A_cache_refuses_another_model_and_another_batch()
    {
        using var a = TinyModels.Build("llama");
        using var b = TinyModels.Build("llama", seed: 1);
        using var cache = new KeyValueCache(a);
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentException>(() => b.ForwardWithCache(tensor(new long[] { 1 }, new long[] { 1, 1 }), cache));
        using var _ = a.ForwardWithCache(tensor(new long[] { 1 }, new long[] { 1, 1 }), cache);
        Assert.Throws<ArgumentException>(() => a.ForwardWithCache(tensor(new long[] { 1, 2 }, new long[] { 2, 1 }), cache));
    }
}
