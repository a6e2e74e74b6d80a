using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Tests.IO;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Core.Tests.Configuration;

/// <summary>
/// Run files and adapter_config.json as a careless or hostile user writes them: each one is a short finding or one of
/// our exceptions naming the file, never a crash, a hang or a message of megabytes.
/// </summary>
public sealed class HostileConfigTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static ConfigFinding OnlyFinding(string yaml)
    {
        var findings = RunConfig.FromYaml(yaml, "run.yaml").Validate();
        return Assert.Single(findings);
    }

    [Theory]
    [InlineData(50_000)]
    [InlineData(1_000_000)]
    public void Token_indices_nested_deep_in_flow_style_is_one_finding_not_a_stack_overflow(int depth)
    {
        var finding = OnlyFinding("trainable_tokens:\n  token_indices: " + HostileFiles.Nested(depth) + "\n");

        Assert.Contains($"nested more than {ConfigLimits.MaxDepth} levels", finding.Message);
        Assert.Equal(2, finding.Line);
        Assert.NotNull(finding.Column);
    }

    [Theory]
    [InlineData(50_000)]
    [InlineData(1_000_000)]
    public void Mappings_nested_deep_in_flow_style_are_one_finding(int depth)
    {
        var yaml = "trainable_tokens:\n  token_indices: " + string.Concat(Enumerable.Repeat("{a: ", depth)) + "1" + new string('}', depth) + "\n";

        Assert.Contains("nested more than", OnlyFinding(yaml).Message);
    }

    [Theory]
    [InlineData(50_000)]
    [InlineData(1_000_000)]
    public void Token_indices_nested_deep_in_block_style_is_one_finding(int depth)
    {
        var yaml = "trainable_tokens:\n  token_indices:\n    " + string.Concat(Enumerable.Repeat("- ", depth)) + "1\n";

        var finding = OnlyFinding(yaml);

        Assert.Contains("nested more than", finding.Message);
        Assert.Equal(3, finding.Line);
    }

    [Fact]
    public void Block_style_nesting_on_separate_lines_is_one_finding_at_the_line_past_the_limit()
    {
        var yaml = new StringBuilder("trainable_tokens:\n  token_indices:\n");
        for (var i = 0; i < 200; i++) yaml.Append(' ', 4 + 2 * i).Append("-\n");

        var finding = OnlyFinding(yaml.ToString());

        Assert.Contains("nested more than", finding.Message);
        Assert.Equal(ConfigLimits.MaxDepth + 1, finding.Line);
    }

    [Theory]
    [InlineData(50_000)]
    [InlineData(1_000_000)]
    public void Json_nested_deep_in_adapter_config_is_one_finding(int depth)
    {
        var json = "{\"peft_type\": \"TRAINABLE_TOKENS\", \"token_indices\": " + HostileFiles.Nested(depth) + "}";

        var error = Assert.Throws<InvalidConfigException>(() => TrainableTokensConfig.FromPeftJson(json, "adapter_config.json"));

        var finding = Assert.Single(error.Findings);
        Assert.Contains($"nested more than {ConfigLimits.MaxDepth} levels", finding.Message);
        Assert.Equal(1, finding.Line);
        Assert.DoesNotContain("LineNumber", finding.Message);
    }

    [Fact]
    public void A_deep_unknown_key_in_adapter_config_is_one_finding()
    {
        var json = "{\"peft_type\": \"TRAINABLE_TOKENS\", \"token_indices\": [1], \"newer\": " + HostileFiles.Nested(50_000, '{', '}').Replace("{", "{\"a\": ").Replace("{\"a\": }", "{\"a\": 1}") + "}";

        var error = Assert.Throws<InvalidConfigException>(() => TrainableTokensConfig.FromPeftJson(json, "adapter_config.json"));

        Assert.Contains("nested more than", Assert.Single(error.Findings).Message);
    }

    [Fact]
    public void A_run_file_on_disk_nested_50000_deep_is_a_finding_with_its_file()
    {
        var path = _folder.File("deep.yaml");
        File.WriteAllText(path, "trainable_tokens:\n  token_indices: " + HostileFiles.Nested(50_000) + "\n");

        var finding = Assert.Single(RunConfig.Load(path).Validate());

        Assert.Equal(path, finding.Source);
        Assert.StartsWith($"{path}:2:", finding.ToString());
    }

    [Fact]
    public void A_billion_laughs_of_aliases_is_bounded()
    {
        var yaml = new StringBuilder("a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\n");
        var previous = "a";
        foreach (var name in new[] { "b", "c", "d", "e", "f", "g", "h", "i" })
        {
            yaml.Append($"{name}: &{name} [").Append(string.Join(", ", Enumerable.Repeat("*" + previous, 9))).Append("]\n");
            previous = name;
        }
        yaml.Append("trainable_tokens:\n  token_indices: [1]\n  auto_mapping: {x: *i}\n");

        var findings = RunConfig.FromYaml(yaml.ToString(), "run.yaml").Validate();

        Assert.Contains(findings, f => f.Message.Contains("aliases counted each time"));
    }

    [Fact]
    public void An_alias_inside_its_own_anchor_says_so()
    {
        Assert.Contains("inside the value it refers to", OnlyFinding("a: &a\n  b: *a\n").Message);
    }

    [Fact]
    public void A_hundred_thousand_repeated_ids_give_a_short_answer()
    {
        var json = "{\"peft_type\": \"TRAINABLE_TOKENS\", \"token_indices\": [" + string.Join(",", Enumerable.Repeat("5", 100_000)) + "]}";

        var error = Assert.Throws<InvalidConfigException>(() => TrainableTokensConfig.FromPeftJson(json, "adapter_config.json"));

        Assert.True(error.Message.Length < 4000, $"The message has {error.Message.Length} characters.");
        Assert.True(error.Findings.Count <= ConfigLimits.MaxFindingsPerList + 1);
        Assert.Contains(error.Findings, f => f.Message.Contains("99,994 more times"));
    }

    [Fact]
    public void A_hundred_thousand_unknown_keys_are_counted_past_the_first_ones()
    {
        var yaml = "trainable_tokens:\n  token_indices: [1]\n" + string.Concat(Enumerable.Range(0, 100_000).Select(i => $"  k{i}: 1\n"));

        var findings = RunConfig.FromYaml(yaml, "run.yaml").Validate();

        Assert.Equal(ConfigLimits.MaxFindings + 1, findings.Count);
        Assert.Contains("99,950 more problems are not listed", findings[^1].Message);
        Assert.Equal(ConfigSeverity.Error, findings[^1].Severity);
        Assert.True(findings.Sum(f => f.ToString().Length) < 20_000);
    }

    [Fact]
    public void The_exception_lists_the_first_errors_and_counts_the_rest()
    {
        var json = "{\"peft_type\": \"TRAINABLE_TOKENS\", \"token_indices\": [1]" + string.Concat(Enumerable.Range(0, 30).Select(i => $", \"k{i}\": 1, \"k{i}\": 2")) + "}";

        var error = Assert.Throws<InvalidConfigException>(() => TrainableTokensConfig.FromPeftJson(json, "adapter_config.json"));

        Assert.Equal(30, error.Findings.Count);
        Assert.Contains("... and 20 more", error.Message);
        Assert.Equal(InvalidConfigException.MaxListedErrors + 2, error.Message.Split(Environment.NewLine).Length);
    }

    [Fact]
    public void More_token_indices_than_the_limit_are_refused()
    {
        var yaml = "trainable_tokens:\n  token_indices: [" + string.Join(",", Enumerable.Range(0, 1_048_577)) + "]\n";

        var finding = OnlyFinding(yaml);

        Assert.Equal("trainable_tokens.token_indices", finding.Field);
        Assert.Contains("list at most 1048576", finding.Message);
    }

    [Fact]
    public void A_million_token_ids_on_one_line_read_in_linear_time()
    {
        // Columns used to be counted from the start of the line for every value: quadratic, 46 s for a million ids.
        var json = "{\"peft_type\": \"TRAINABLE_TOKENS\", \"token_indices\": [" + string.Join(",", Enumerable.Range(0, 1_000_000)) + "], \"x\": 1, \"x\": 2}";
        var clock = Stopwatch.StartNew();

        var error = Assert.Throws<InvalidConfigException>(() => TrainableTokensConfig.FromPeftJson(json, "adapter_config.json"));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"Reading took {clock.Elapsed}.");
        var duplicate = Assert.Single(error.Findings);
        Assert.Equal(json.LastIndexOf("\"x\"", StringComparison.Ordinal) + 1, duplicate.Column);
    }

    [Fact]
    public void A_million_bad_ids_on_one_line_cost_megabytes_not_gigabytes()
    {
        // Each -1 is two findings (negative, repeated): before the caps this made a 382 MB message and took 5 GB and a minute.
        var json = "{\"peft_type\": \"TRAINABLE_TOKENS\", \"token_indices\": [" + string.Join(",", Enumerable.Repeat("-1", 1_000_000)) + "]}";
        var before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();

        var error = Assert.Throws<InvalidConfigException>(() => TrainableTokensConfig.FromPeftJson(json, "adapter_config.json"));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"Reading took {clock.Elapsed}.");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1L << 30, "Reading allocated more than 1 GiB.");
        Assert.True(error.Message.Length < 5000, $"The message has {error.Message.Length} characters.");
        Assert.True(error.Findings.Count <= ConfigLimits.MaxFindings + 1);
        Assert.Contains("more problems are not listed", error.Findings[^1].Message);
    }

    [Fact]
    public void A_list_past_the_parsers_item_limit_stops_reading()
    {
        var yaml = "a: [" + string.Join(",", Enumerable.Repeat("1", ConfigLimits.MaxItems + 1)) + "]\n";

        Assert.Contains("more than 2,097,152 items", OnlyFinding(yaml).Message);
    }

    [Theory]
    [InlineData("\"\\ud800\"")]
    [InlineData("\"\\udc00\"")]
    public void A_lone_surrogate_escape_in_json_is_a_finding(string value)
    {
        foreach (var json in new[]
        {
            "{\"peft_type\": \"TRAINABLE_TOKENS\", \"token_indices\": [1], \"base_model_name_or_path\": " + value + "}",
            "{\"peft_type\": \"TRAINABLE_TOKENS\", \"token_indices\": [1], " + value + ": 1}",
        })
        {
            var error = Assert.Throws<InvalidConfigException>(() => TrainableTokensConfig.FromPeftJson(json, "adapter_config.json"));
            var finding = Assert.Single(error.Findings);
            Assert.Contains("lone surrogate", finding.Message);
            Assert.Equal(1, finding.Line);
        }
    }

    [Fact]
    public void Text_after_the_json_object_is_a_finding()
    {
        const string json = "{\"peft_type\": \"TRAINABLE_TOKENS\", \"token_indices\": [1]}{\"token_indices\": [2]}";

        var error = Assert.Throws<InvalidConfigException>(() => TrainableTokensConfig.FromPeftJson(json, "adapter_config.json"));

        Assert.Contains("after a single JSON value", Assert.Single(error.Findings).Message);
    }

    [Fact]
    public void An_empty_json_file_says_so_in_jsons_words()
    {
        var error = Assert.Throws<InvalidConfigException>(() => TrainableTokensConfig.FromPeftJson("  \n", "adapter_config.json"));

        Assert.Contains("The file is empty", error.Message);
        Assert.Contains("JSON object", error.Message);
    }

    [Fact]
    public void A_nul_character_in_yaml_is_a_finding_not_the_end_of_the_file()
    {
        var finding = OnlyFinding("trainable_tokens:\n  token_indices: [5]\n\0\0training: {learning_rate: -1}\n");

        Assert.Contains("NUL character", finding.Message);
        Assert.Equal((3, 1), (finding.Line, finding.Column));
    }

    [Fact]
    public void Auto_mapping_must_be_a_mapping()
    {
        const string json = "{\"peft_type\": \"TRAINABLE_TOKENS\", \"token_indices\": [1], \"auto_mapping\": [1, 2]}";

        var error = Assert.Throws<InvalidConfigException>(() => TrainableTokensConfig.FromPeftJson(json, "adapter_config.json"));

        Assert.Equal("auto_mapping", Assert.Single(error.Findings).Field);
    }

    [Fact]
    public void A_megabyte_key_or_value_is_quoted_short()
    {
        // YAML allows keys of up to 1024 characters without '?'; values have no limit.
        var key = new string('k', 1000);
        var value = new string('v', 1_000_000);
        var yaml = $"trainable_tokens:\n  token_indices: [1]\n  {key}: 1\ntraining:\n  lr_scheduler_type: {value}\n  learning_rate: '1{value}'\n";

        var findings = RunConfig.FromYaml(yaml, "run.yaml").Validate();

        Assert.Equal(3, findings.Count);
        Assert.All(findings, f => Assert.True(f.ToString().Length < 600, f.ToString()));
    }

    [Fact]
    public void A_number_with_a_hundred_thousand_digits_is_quoted_short()
    {
        var json = "{\"peft_type\": \"TRAINABLE_TOKENS\", \"token_indices\": [" + new string('9', 100_000) + "]}";

        var error = Assert.Throws<InvalidConfigException>(() => TrainableTokensConfig.FromPeftJson(json, "adapter_config.json"));

        Assert.True(error.Message.Length < 1000);
        Assert.Contains("too large", error.Message);
    }

    [Fact]
    public void A_device_number_too_large_for_an_int_is_a_finding_not_an_overflow()
    {
        var config = RunConfig.FromYaml("trainable_tokens:\n  token_indices: [5]\ntraining:\n  device: cuda:99999999999\n", "run.yaml");

        var report = Core.Preflight.RunPreflight.Check(new Core.Preflight.PreflightRequest(config));

        Assert.Equal("training.device", Assert.Single(report.Findings, f => f.Severity == ConfigSeverity.Error).Field);
    }

    [Fact]
    public void A_run_file_that_is_a_fifo_is_refused_without_waiting_for_a_writer()
    {
        var path = HostileFiles.Fifo(_folder.File("run.yaml"));

        var error = Assert.Throws<InvalidConfigException>(() => RunConfig.Load(path));

        Assert.Contains("FIFO", error.Message);
        Assert.Equal(path, error.Target);
    }

    [Theory]
    [InlineData("/dev/zero")]
    [InlineData("/dev/urandom")]
    public void A_run_file_linked_to_a_device_is_refused(string device)
    {
        var path = HostileFiles.LinkTo(_folder.File("run.yaml"), device);

        var error = Assert.Throws<InvalidConfigException>(() => RunConfig.Load(path));

        Assert.Contains("character device", error.Message);
    }

    [Fact]
    public void A_folder_or_a_missing_run_file_is_refused_with_its_path()
    {
        Assert.Contains("a folder", Assert.Throws<InvalidConfigException>(() => RunConfig.Load(_folder.Path)).Message);
        Assert.Contains("does not exist", Assert.Throws<InvalidConfigException>(() => RunConfig.Load(_folder.File("none.yaml"))).Message);
    }

    [Fact]
    public void A_run_file_larger_than_the_limit_is_refused_before_it_is_read()
    {
        var path = HostileFiles.Sparse(_folder.File("run.yaml"), RunConfig.MaxFileBytes + 1);

        var error = Assert.Throws<InvalidConfigException>(() => RunConfig.Load(path));

        Assert.Contains("at most 32 MiB", error.Message);
    }

    [Fact]
    public void A_run_file_that_is_not_utf8_names_the_line()
    {
        var path = _folder.File("run.yaml");
        File.WriteAllBytes(path, [.. "trainable_tokens:\n  token_indices: [5]\n# caf"u8, 0xE9, (byte)'\n']);

        var error = Assert.Throws<InvalidConfigException>(() => RunConfig.Load(path));

        Assert.Contains("line 3", error.Message);
        Assert.Contains("UTF-8", error.Message);
    }

    [Fact]
    public void A_utf16_run_file_is_named_as_such()
    {
        var path = _folder.File("run.yaml");
        File.WriteAllText(path, "trainable_tokens:\n  token_indices: [5]\n", Encoding.Unicode);

        Assert.Contains("UTF-16", Assert.Throws<InvalidConfigException>(() => RunConfig.Load(path)).Message);
    }

    [Fact]
    public void A_utf8_bom_is_accepted()
    {
        var path = _folder.File("run.yaml");
        File.WriteAllText(path, "trainable_tokens:\n  token_indices: [5]\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        Assert.Empty(RunConfig.Load(path).Validate());
    }

    private string AdapterFolderWith(Action<string> writeConfig)
    {
        var folder = _folder.File("adapter");
        Directory.CreateDirectory(folder);
        writeConfig(Path.Combine(folder, "adapter_config.json"));
        return folder;
    }

    [Fact]
    public void An_adapter_config_that_is_a_fifo_is_refused()
    {
        var folder = AdapterFolderWith(p => HostileFiles.Fifo(p));

        Assert.Contains("FIFO", Assert.Throws<InvalidAdapterException>(() => AdapterFolder.ReadConfig(folder)).Message);
    }

    [Fact]
    public void An_adapter_config_linked_to_dev_zero_is_refused()
    {
        var folder = AdapterFolderWith(p => HostileFiles.LinkTo(p, "/dev/zero"));

        Assert.Contains("character device", Assert.Throws<InvalidAdapterException>(() => AdapterFolder.ReadConfig(folder)).Message);
    }

    [Fact]
    public void An_adapter_config_larger_than_the_limit_is_refused()
    {
        var folder = AdapterFolderWith(p => HostileFiles.Sparse(p, TrainableTokensAdapterConfig.MaxFileBytes + 1, "{\"x\": \""u8.ToArray()));

        Assert.Contains("at most 32 MiB", Assert.Throws<InvalidAdapterException>(() => AdapterFolder.ReadConfig(folder)).Message);
    }

    [Fact]
    public void An_adapter_config_with_invalid_utf8_is_refused()
    {
        var folder = AdapterFolderWith(p => File.WriteAllBytes(p, [.. "{\"peft_type\": \"TRAINABLE_TOKENS\", \"token_indices\": [1], \"x\": \""u8, 0xFF, (byte)'"', (byte)'}']));

        var error = Assert.Throws<InvalidAdapterException>(() => AdapterFolder.ReadConfig(folder));

        Assert.Contains("not valid UTF-8", error.Message);
        Assert.Contains("adapter_config.json", error.Message);
    }

    [Fact]
    public void An_adapter_config_nested_50000_deep_is_refused_naming_the_file()
    {
        var folder = AdapterFolderWith(p => File.WriteAllText(p, "{\"peft_type\": \"TRAINABLE_TOKENS\", \"token_indices\": " + HostileFiles.Nested(50_000) + "}"));

        var error = Assert.Throws<InvalidAdapterException>(() => AdapterFolder.ReadConfig(folder));

        Assert.Contains("adapter_config.json:1:", error.Message);
        Assert.Contains("nested more than", error.Message);
    }
}
