using System.Linq;
using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Generators.Tests;

/// <summary>Users' run files read through the classes generated from src/Core/Schemas: every mistake, with its line.</summary>
public class UserFileTests
{
    private const string ThreeMistakes = """
        trainable_tokens:
          token_indices: [5, -3]
        training:
          learnig_rate: 0.01
          per_device_train_batch_size: eight
        """;

    [Fact]
    public void A_run_file_with_three_mistakes_reports_all_three_with_line_numbers()
    {
        var findings = RunConfig.FromYaml(ThreeMistakes, "run.yaml").Validate();

        Assert.Equal(3, findings.Count);
        Assert.All(findings, f => Assert.Equal(ConfigSeverity.Error, f.Severity));
        Assert.All(findings, f => Assert.Equal("run.yaml", f.Source));

        var negative = findings.Single(f => f.Field == "trainable_tokens.token_indices[1]");
        Assert.Equal((2, 22), (negative.Line, negative.Column));
        Assert.Contains("is -3; it must be 0 or more", negative.Message);

        var misspelled = findings.Single(f => f.Field == "training.learnig_rate");
        Assert.Equal((4, 3), (misspelled.Line, misspelled.Column));
        Assert.Contains("Did you mean 'learning_rate'?", misspelled.Message);

        var wrongType = findings.Single(f => f.Field == "training.per_device_train_batch_size");
        Assert.Equal((5, 32), (wrongType.Line, wrongType.Column));
        Assert.Contains("must be a whole number", wrongType.Message);
        Assert.Contains("not the text 'eight'", wrongType.Message);
    }

    [Fact]
    public void Findings_come_in_file_order_and_print_like_compiler_messages()
    {
        var findings = RunConfig.FromYaml(ThreeMistakes, "run.yaml").Validate();

        Assert.Equal(new int?[] { 2, 4, 5 }, findings.Select(f => f.Line));
        Assert.StartsWith("run.yaml:2:22: error: trainable_tokens.token_indices[1]: ", findings[0].ToString());
    }

    [Fact]
    public void A_valid_file_has_no_findings_and_takes_the_schema_defaults()
    {
        var config = RunConfig.FromYaml("trainable_tokens:\n  token_indices: [5, 6]\n");

        Assert.Empty(config.Validate());
        Assert.Equal(new[] { 5, 6 }, config.TrainableTokens!.TokenIndices);
        Assert.Null(config.TrainableTokens!.TargetModules);
        Assert.True(config.TrainableTokens.InitWeights);
        Assert.Equal(0.001, config.Training.LearningRate);
        Assert.Equal("linear", config.Training.LrSchedulerType);
        Assert.Equal(8, config.Training.PerDeviceTrainBatchSize);
        Assert.Null(config.Training.MaxSteps);
        Assert.Equal("cpu", config.Training.Device);
    }

    [Fact]
    public void A_key_at_the_wrong_level_is_told_where_it_belongs()
    {
        var findings = RunConfig.FromYaml("token_indices: [5]\ntrainable_tokens:\n  token_indices: [5]\n").Validate();

        var finding = Assert.Single(findings);
        Assert.Equal("token_indices", finding.Field);
        Assert.Contains("belongs under 'trainable_tokens:'", finding.Message);
    }

    [Fact]
    public void An_unknown_key_with_no_close_match_lists_the_known_ones()
    {
        var finding = Assert.Single(RunConfig.FromYaml("trainable_tokens:\n  token_indices: [5]\n  colour: blue\n").Validate());

        Assert.Contains("Known settings: token_indices, target_modules, init_weights", finding.Message);
    }

    [Theory]
    [InlineData("learning_rate: \"0.01\"", "Remove the quotes")]
    [InlineData("learning_rate: fast", "must be a number")]
    [InlineData("learning_rate: .inf", "finite number")]
    [InlineData("learning_rate:", "it is empty")]
    [InlineData("learning_rate: [0.1]", "not a list")]
    [InlineData("max_steps: 10.0", "Write 10 without the decimal point")]
    [InlineData("max_steps: 99999999999", "too large")]
    [InlineData("overwrite_output_dir: yes", "Write true")]
    [InlineData("device: 0", "Put it in quotes")]
    [InlineData("dtype: fp16", "Use one of: float32, bfloat16, float16")]
    [InlineData("dtype: float61", "Did you mean 'float16'?")]
    [InlineData("device: gpu", "Use cpu, cuda or cuda:N")]
    [InlineData("warmup_ratio: 1.5", "it must be 1 or less")]
    [InlineData("learning_rate: 0", "it must be greater than 0")]
    public void A_wrong_training_value_says_what_to_write(string line, string expected)
    {
        var findings = RunConfig.FromYaml($"trainable_tokens:\n  token_indices: [5]\ntraining:\n  {line}\n").Validate();

        var finding = Assert.Single(findings);
        Assert.Equal(ConfigSeverity.Error, finding.Severity);
        Assert.Equal(4, finding.Line);
        Assert.Contains(expected, finding.Message);
    }

    [Fact]
    public void A_scalar_where_a_list_belongs_suggests_the_list()
    {
        var finding = Assert.Single(RunConfig.FromYaml("trainable_tokens:\n  token_indices: 5\n").Validate());

        Assert.Contains("Write a list even for one value: [5]", finding.Message);
    }

    [Fact]
    public void Token_indices_must_be_given_non_empty_and_unique()
    {
        var missing = Assert.Single(RunConfig.FromYaml("trainable_tokens:\n  init_weights: false\n").Validate());
        Assert.Equal("trainable_tokens.token_indices", missing.Field);
        Assert.Contains("required", missing.Message);
        Assert.Contains("token_indices: [5, 6]", missing.Message);

        var empty = Assert.Single(RunConfig.FromYaml("trainable_tokens:\n  token_indices: []\n").Validate());
        Assert.Contains("is empty; list at least 1", empty.Message);

        var twice = Assert.Single(RunConfig.FromYaml("trainable_tokens:\n  token_indices: [5, 6, 5]\n").Validate());
        Assert.Equal("trainable_tokens.token_indices[2]", twice.Field);
        Assert.Contains("lists 5 twice", twice.Message);
    }

    [Fact]
    public void A_misspelled_required_key_is_one_finding_not_two()
    {
        var finding = Assert.Single(RunConfig.FromYaml("trainable_token:\n  token_indices: [5]\n").Validate());

        Assert.Equal("trainable_token", finding.Field);
        Assert.Contains("Did you mean 'trainable_tokens'?", finding.Message);
    }

    [Fact]
    public void A_missing_section_is_an_error_at_the_top()
    {
        var finding = Assert.Single(RunConfig.FromYaml("training:\n  seed: 1\n").Validate());

        Assert.Equal("trainable_tokens", finding.Field);
        Assert.Equal(1, finding.Line);
        Assert.Contains("Add a trainable_tokens section (token_indices: [...]) to train token rows, or a lora section", finding.Message);
    }

    [Fact]
    public void Target_modules_keep_the_difference_between_a_list_and_a_regular_expression()
    {
        var list = RunConfig.FromYaml("trainable_tokens:\n  token_indices: [5]\n  target_modules: [embed_tokens]\n");
        var regex = RunConfig.FromYaml("trainable_tokens:\n  token_indices: [5]\n  target_modules: 'model\\.embed_tokens'\n");

        Assert.Equal(new[] { "embed_tokens" }, list.TrainableTokens!.TargetModules!.Items);
        Assert.Equal("model\\.embed_tokens", regex.TrainableTokens!.TargetModules!.Text);
        Assert.False(regex.TrainableTokens.TargetModules.IsList);
    }

    [Fact]
    public void Broken_YAML_is_one_finding_with_its_line()
    {
        var findings = RunConfig.FromYaml("trainable_tokens:\n  token_indices: [5, 6\ntraining:\n  seed: 1\n", "bad.yaml").Validate();
        Assert.True(findings.Count == 1, string.Join("\n", findings));
        var finding = findings[0];

        Assert.Contains("not valid YAML", finding.Message);
        Assert.NotNull(finding.Line);
    }

    [Fact]
    public void A_key_written_twice_is_an_error()
    {
        var finding = Assert.Single(RunConfig.FromYaml("trainable_tokens:\n  token_indices: [5]\n  token_indices: [6]\n").Validate());

        Assert.Equal(3, finding.Line);
        Assert.Contains("written twice", finding.Message);
    }

    [Fact]
    public void An_empty_file_says_so()
    {
        var finding = Assert.Single(RunConfig.FromYaml("# nothing yet\n").Validate());

        Assert.Contains("empty", finding.Message);
    }

    [Fact]
    public void Cross_field_checks_give_warnings()
    {
        var findings = RunConfig.FromYaml("trainable_tokens:\n  token_indices: [5]\ntraining:\n  warmup_steps: 10\n  warmup_ratio: 0.1\n  eval_steps: 5\n").Validate();

        Assert.Equal(2, findings.Count);
        Assert.All(findings, f => Assert.Equal(ConfigSeverity.Warning, f.Severity));
        Assert.Contains(findings, f => f.Field == "training.warmup_ratio" && f.Line == 5);
        Assert.Contains(findings, f => f.Field == "training.eval_steps" && f.Line == 6);
    }

    [Fact]
    public void An_object_made_in_code_is_validated_without_positions()
    {
        var config = new RunConfig
        {
            TrainableTokens = new TrainableTokensConfig { TokenIndices = [-1] },
            Training = new TrainingConfig { LearningRate = -1 },
        };

        var findings = config.Validate();

        Assert.Equal(new[] { "trainable_tokens.token_indices[0]", "training.learning_rate" }, findings.Select(f => f.Field));
        Assert.All(findings, f => Assert.Null(f.Line));
    }

    [Fact]
    public void YAML_anchors_and_aliases_are_resolved()
    {
        var config = RunConfig.FromYaml("trainable_tokens:\n  token_indices: &ids [7, 8]\ntraining:\n  seed: 3\n");

        Assert.Empty(config.Validate());
        Assert.Equal(new[] { 7, 8 }, config.TrainableTokens!.TokenIndices);
    }
}
