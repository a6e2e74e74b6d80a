using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Untrained;

namespace TrainableTokens.Core.Tests.Untrained;

public sealed class UntrainedTokenCheckTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-untrainedcheck-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly UntrainedToken Reserved = new(9, "<|reserved_9|>", 0, 0, "embedding zero") { EmbeddingReason = UntrainedReason.Zero };

    private static UntrainedTokenCheckInput Input(bool tied = false, bool headTrained = false, long[]? indices = null, Dictionary<long, long>? counts = null) => new()
    {
        TokenIndices = indices ?? new long[] { 64 },
        TiedHead = tied,
        HeadTrained = headTrained,
        Untrained = new[] { Reserved },
        NewTokens = new Dictionary<long, string> { [64] = "<think>" },
        DatasetCounts = counts,
    };

    [Fact]
    public void An_untied_model_trained_on_a_new_token_without_its_head_is_warned_naming_the_token()
    {
        var warning = Assert.Single(UntrainedTokenCheck.Check(Input()));
        Assert.Equal("target_modules", warning.Key);
        Assert.Contains("the model will read these tokens but never predict them", warning.Message);
        Assert.Contains("'<think>' (id 64)", warning.Message);
        Assert.Contains("lm_head", warning.Message);
    }

    [Fact]
    public void No_head_warning_when_the_head_is_trained_too_or_tied_or_the_tokens_are_learnt_ones()
    {
        Assert.Empty(UntrainedTokenCheck.Check(Input(headTrained: true)));
        Assert.Empty(UntrainedTokenCheck.Check(Input(tied: true)));
        Assert.Empty(UntrainedTokenCheck.Check(Input(indices: new long[] { 3 })));
    }

    [Fact]
    public void An_untrained_training_target_without_the_head_is_warned_too()
    {
        var warning = Assert.Single(UntrainedTokenCheck.Check(Input(indices: new long[] { 9 })));
        Assert.Contains("'<|reserved_9|>' (id 9)", warning.Message);
    }

    [Fact]
    public void Untrained_tokens_the_data_uses_but_the_run_does_not_train_are_warned_with_their_counts()
    {
        var used = UntrainedTokenCheck.Check(Input(headTrained: true, counts: new() { [9] = 3, [1] = 10 }));
        var trained = UntrainedTokenCheck.Check(Input(headTrained: true, indices: new long[] { 9, 64 }, counts: new() { [9] = 3 }));
        var unused = UntrainedTokenCheck.Check(Input(headTrained: true, counts: new() { [1] = 10 }));

        var warning = Assert.Single(used);
        Assert.Equal("token_indices", warning.Key);
        Assert.Contains("'<|reserved_9|>' (id 9), 3 times", warning.Message);
        Assert.Empty(trained);
        Assert.Empty(unused);
    }

    private IReadOnlyList<ConfigFinding> Preflight(string model, string text, bool tokenise = true)
    {
        var data = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".jsonl");
        File.WriteAllText(data, text);
        var config = new RunConfig
        {
            TrainableTokens = new TrainableTokensConfig { TokenIndices = new[] { 10002 } },
            Training = new TrainingConfig { BaseModel = model, Dataset = data, OutputDir = Path.Combine(_dir, "out"), MaxSeqLength = 64 },
        };
        return RunPreflight.Check(new PreflightRequest(config) { TokenizeDataset = tokenise }).Findings;
    }

    [Fact]
    public void The_preflight_warns_about_untrained_tokens_in_the_data_and_an_untied_head_left_untrained()
    {
        var model = UntrainedModels.Llama3WithReservedRows(Path.Combine(_dir, "untied"), untied: true);
        var findings = Preflight(model, "{\"text\": \"Hi <|reserved_special_token_5|> and <|reserved_special_token_5|> again\"}\n");

        var data = Assert.Single(findings, f => f.Field == "trainable_tokens.token_indices");
        Assert.Equal(ConfigSeverity.Warning, data.Severity);
        Assert.True(data.Message.Contains("'<|reserved_special_token_5|>' (id 10010), 2 times"), data.Message);
        var head = Assert.Single(findings, f => f.Field == "trainable_tokens.target_modules");
        Assert.Equal(ConfigSeverity.Warning, head.Severity);
        Assert.Contains("'<|reserved_special_token_0|>' (id 10002)", head.Message);
        Assert.Contains("never predict them", head.Message);
        Assert.DoesNotContain(findings, f => f.Severity == ConfigSeverity.Error);
    }

    [Fact]
    public void A_tied_model_gets_only_the_data_warning_and_a_check_without_tokenising_neither()
    {
        var model = UntrainedModels.Llama3WithReservedRows(Path.Combine(_dir, "tied"));
        var text = "{\"text\": \"Hi <|reserved_special_token_5|>\"}\n";

        var full = Preflight(model, text);
        var headersOnly = Preflight(model, text, tokenise: false);

        Assert.Single(full, f => f.Field == "trainable_tokens.token_indices");
        Assert.DoesNotContain(full, f => f.Field == "trainable_tokens.target_modules");
        Assert.DoesNotContain(headersOnly, f => f.Field.StartsWith("trainable_tokens.", StringComparison.Ordinal));
    }
}
