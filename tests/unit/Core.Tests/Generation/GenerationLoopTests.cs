using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TrainableTokens.Core.Generation;
using TrainableTokens.Core.Models;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Generation;

/// <summary>The decoding loop: seeded sampling, eos, stop strings and streaming, settings checks, memory per token.</summary>
public sealed class GenerationLoopTests
{
    private static readonly long[] Prompt = { 5, 17, 3, 99, 42, 7, 64 };

    private static CausalLanguageModel Model(string type = "llama") => LivelyModels.Build(new TinyModelSpec { ModelType = type, Seed = 3, TieWordEmbeddings = false });

    /// <summary>A stand-in tokenizer: id i is the letter 'a' + i % 26, so texts and stop strings are easy to write.</summary>
    private static string Letters(IReadOnlyList<int> ids) => new(ids.Select(i => (char)('a' + i % 26)).ToArray());

    [Fact]
    public void Seeded_sampling_repeats_and_another_seed_differs()
    {
        using var model = Model();
        var settings = new GenerationSettings { MaxNewTokens = 32, Temperature = 1.5, TopK = 40, TopP = 0.95, Seed = 1234 };
        var a = TokenGenerator.Generate(model, Prompt, settings);
        var b = TokenGenerator.Generate(model, Prompt, settings);
        var uncached = TokenGenerator.Generate(model, Prompt, settings, useCache: false);
        var other = TokenGenerator.Generate(model, Prompt, settings with { Seed = 99 });
        Assert.Equal(a.GeneratedIds, b.GeneratedIds);
        Assert.Equal(a.GeneratedIds, uncached.GeneratedIds);
        Assert.NotEqual(a.GeneratedIds, other.GeneratedIds);
        Assert.Equal(1234, a.Seed);
        Assert.Equal("sampled", a.Decoding);
        var greedy = TokenGenerator.Generate(model, Prompt, new GenerationSettings { MaxNewTokens = 32 });
        Assert.NotEqual(greedy.GeneratedIds, a.GeneratedIds);
    }

    [Fact]
    public void An_unseeded_run_reports_the_seed_that_repeats_it()
    {
        using var model = Model();
        var settings = new GenerationSettings { MaxNewTokens = 16, Temperature = 1.0 };
        var first = TokenGenerator.Generate(model, Prompt, settings);
        var again = TokenGenerator.Generate(model, Prompt, settings with { Seed = first.Seed });
        Assert.Equal(first.GeneratedIds, again.GeneratedIds);
    }

    [Fact]
    public void Top_k_1_and_a_tiny_top_p_sample_the_argmax()
    {
        using var model = Model();
        var greedy = TokenGenerator.Generate(model, Prompt, new GenerationSettings { MaxNewTokens = 12 });
        var topK = TokenGenerator.Generate(model, Prompt, new GenerationSettings { MaxNewTokens = 12, Temperature = 5, TopK = 1, Seed = 5 });
        var topP = TokenGenerator.Generate(model, Prompt, new GenerationSettings { MaxNewTokens = 12, Temperature = 5, TopP = 1e-6, Seed = 5 });
        Assert.Equal(greedy.GeneratedIds, topK.GeneratedIds);
        Assert.Equal(greedy.GeneratedIds, topP.GeneratedIds);
    }

    [Fact]
    public void Eos_stops_generation_and_stays_in_the_ids_but_not_the_text()
    {
        using var model = Model();
        var free = TokenGenerator.Generate(model, Prompt, new GenerationSettings { MaxNewTokens = 20 }, Letters);
        int eos = free.GeneratedIds[4];
        int first = free.GeneratedIds.ToList().IndexOf(eos);
        var stopped = TokenGenerator.Generate(model, Prompt, new GenerationSettings { MaxNewTokens = 20, EosTokenIds = new[] { 100000, eos } }, Letters);
        Assert.Equal(StopReason.EndOfSequence, stopped.StopReason);
        Assert.Equal(free.GeneratedIds.Take(first + 1), stopped.GeneratedIds);
        Assert.Equal(Letters(free.GeneratedIds.Take(first).ToList()), stopped.Text);
    }

    [Fact]
    public void A_stop_string_across_tokens_ends_generation_and_the_stream_never_shows_it()
    {
        using var model = Model();
        var free = TokenGenerator.Generate(model, Prompt, new GenerationSettings { MaxNewTokens = 20 }, Letters);
        var stop = free.Text.Substring(5, 3); // three tokens' letters
        int at = free.Text.IndexOf(stop, StringComparison.Ordinal);
        var pieces = new List<GeneratedToken>();
        var result = TokenGenerator.Generate(model, Prompt, new GenerationSettings { MaxNewTokens = 20, StopStrings = new[] { "never-there", stop } }, Letters, pieces.Add);
        Assert.Equal(StopReason.StopString, result.StopReason);
        Assert.Equal(stop, result.StoppedAt);
        Assert.Equal(free.Text[..at], result.Text);
        Assert.Equal(at + 3, result.GeneratedTokens);
        Assert.Equal(result.Text, string.Concat(pieces.Select(p => p.Text)));
        // The stop string's first letters were held back while they could still start it.
        Assert.Equal(result.GeneratedTokens, pieces.Count);
        Assert.Equal("", pieces[^2].Text);
    }

    [Fact]
    public void Streamed_pieces_add_up_to_the_text()
    {
        using var model = Model();
        var pieces = new List<GeneratedToken>();
        var result = TokenGenerator.Generate(model, Prompt, new GenerationSettings { MaxNewTokens = 15, StopStrings = new[] { "zzzz" } }, Letters, pieces.Add);
        Assert.Equal(15, pieces.Count);
        Assert.Equal(result.Text, string.Concat(pieces.Select(p => p.Text)));
        Assert.Equal(result.GeneratedIds, pieces.Select(p => p.Id));
    }

    [Theory]
    [InlineData(0, 0.0, 0, 1.0, "MaxNewTokens is 0")]
    [InlineData(4, -0.1, 0, 1.0, "Temperature is -0.1")]
    [InlineData(4, double.NaN, 0, 1.0, "Temperature is NaN")]
    [InlineData(4, 1.0, -1, 1.0, "TopK is -1")]
    [InlineData(4, 1.0, 0, 0.0, "TopP is 0")]
    [InlineData(4, 1.0, 0, 1.5, "TopP is 1.5")]
    public void Settings_out_of_range_are_refused_before_any_forward(int maxNew, double temperature, int topK, double topP, string expected)
    {
        using var model = Model();
        var settings = new GenerationSettings { MaxNewTokens = maxNew, Temperature = temperature, TopK = topK, TopP = topP };
        var calls = 0;
        var e = Assert.Throws<InvalidGenerationSettingsException>(() => TokenGenerator.Generate(model, Prompt, settings, _ => { calls++; return ""; }));
        Assert.Contains(expected, e.Message);
        Assert.Equal("InvalidGenerationSettings", e.ErrorId);
        Assert.Equal(0, calls);
    }

    [Theory]
    [InlineData("gpt2", "n_positions")]
    [InlineData("llama", "max_position_embeddings")]
    public void Prompts_past_the_positions_are_refused_with_the_field_to_blame(string type, string field)
    {
        using var model = LivelyModels.Build(new TinyModelSpec { ModelType = type, MaxPositions = 16 });
        var longPrompt = Enumerable.Range(1, 17).Select(i => (long)i).ToArray();
        var e = Assert.Throws<PromptTooLongException>(() => TokenGenerator.Generate(model, longPrompt, new GenerationSettings { MaxNewTokens = 1 }));
        Assert.Contains("17 tokens", e.Message);
        Assert.Contains(field, e.Message);
        var fits = longPrompt[..10];
        var past = Assert.Throws<PromptTooLongException>(() => TokenGenerator.Generate(model, fits, new GenerationSettings { MaxNewTokens = 7 }));
        Assert.Contains("MaxNewTokens 6 or less", past.Message);
        Assert.Equal(6, TokenGenerator.Generate(model, fits, new GenerationSettings { MaxNewTokens = 6 }).GeneratedTokens);
    }

    [Fact]
    public void Two_hundred_tokens_keep_the_live_tensor_count_flat_and_leave_nothing_behind()
    {
        using var model = LivelyModels.Build(new TinyModelSpec { ModelType = "mistral", Seed = 3, SlidingWindow = 8, MaxPositions = 512 });
        var stats = DisposeScopeManager.Statistics;
        long before = stats.ThreadTotalLiveCount;
        var live = new List<long>();
        var result = TokenGenerator.Generate(model, Prompt, new GenerationSettings { MaxNewTokens = 200 }, onToken: _ => live.Add(stats.ThreadTotalLiveCount));
        Assert.Equal(200, result.GeneratedTokens);
        // From the second token on, each step frees what it made: the cache's buffers were sized up front.
        Assert.Equal(live[1], live.Skip(1).Max());
        Assert.Equal(live[1], live[^1]);
        Assert.Equal(before, stats.ThreadTotalLiveCount);
    }
}
