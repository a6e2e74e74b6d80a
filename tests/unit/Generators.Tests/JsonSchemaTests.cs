using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Generators.JsonSchema;
using TrainableTokens.Generators.Schema;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using Validator = Json.Schema.JsonSchema;

namespace TrainableTokens.Generators.Tests;

/// <summary>The JSON Schemas written for editors, checked with an independent validator (JsonSchema.Net).</summary>
public class JsonSchemaTests
{
    private static readonly IReadOnlyDictionary<string, ConfigSchema> Schemas = SchemaSet.Resolve(
        GeneratorHarness.Folder(Repository.SchemasFolder).Select(f => SchemaParser.Parse(f.Path, f.Text).Schema!)).Usable;

    public static TheoryData<string> ExampleRunFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Repository.Path("examples"), "*.run.yaml")) data.Add(Path.GetFileName(file));
        return data;
    }

    [Theory]
    [MemberData(nameof(ExampleRunFiles))]
    public void An_example_run_file_validates_against_the_run_file_schema(string name)
    {
        var yaml = File.ReadAllText(Repository.Path("examples", name));

        var results = Evaluate("RunConfig", yaml);

        Assert.True(results.IsValid, Describe(results));
        Assert.Empty(RunConfig.FromYaml(yaml, name).Validate());
    }

    [Fact]
    public void The_examples_folder_has_a_run_file()
    {
        Assert.NotEmpty(ExampleRunFiles());
    }

    [Fact]
    public void A_run_file_written_from_the_object_validates()
    {
        var config = new RunConfig { TrainableTokens = new TrainableTokensConfig { TokenIndices = [5, 6] } };

        var results = Evaluate("RunConfig", config.ToRunFile("./RunConfig.schema.json"));

        Assert.True(results.IsValid, Describe(results));
    }

    [Fact]
    public void A_lora_run_file_with_peft_free_form_fields_validates_and_a_wrong_shape_fails()
    {
        const string yaml = "lora:\n  r: 4\n  target_modules: all-linear\n  init_lora_weights: gaussian\n  rank_pattern: {q_proj: 2}\n" +
            "  trainable_token_indices: {embed_tokens: [5], lm_head: [5]}\ntraining:\n  seed: 1\n";
        var config = RunConfig.FromYaml(yaml, "lora.yaml");
        Assert.Empty(config.Validate());
        var written = config.ToRunFile("./RunConfig.schema.json");
        Assert.True(Evaluate("RunConfig", written).IsValid, Describe(Evaluate("RunConfig", written)));
        Assert.True(Evaluate("RunConfig", yaml.Replace("{embed_tokens: [5], lm_head: [5]}", "[5, 6]").Replace("gaussian", "false")).IsValid);

        var wrong = Evaluate("RunConfig", yaml.Replace("{embed_tokens: [5], lm_head: [5]}", "5"));
        Assert.False(wrong.IsValid);
        Assert.Contains("/lora/trainable_token_indices", Leaves(wrong).Select(r => r.InstanceLocation.ToString()));
        Assert.Contains(RunConfig.FromYaml(yaml.Replace("{embed_tokens: [5], lm_head: [5]}", "5"), "lora.yaml").Validate(),
            f => f.Field == "lora.trainable_token_indices" && f.Message.Contains("a list or a mapping"));
    }

    [Fact]
    public void The_three_mistakes_fail_the_JSON_Schema_too()
    {
        const string yaml = "trainable_tokens:\n  token_indices: [5, -3]\ntraining:\n  learnig_rate: 0.01\n  per_device_train_batch_size: eight\n";

        var results = Evaluate("RunConfig", yaml);

        Assert.False(results.IsValid);
        var locations = Leaves(results).Select(r => r.InstanceLocation.ToString()).Distinct().ToList();
        Assert.Contains("/trainable_tokens/token_indices/1", locations);
        Assert.Contains("/training/per_device_train_batch_size", locations);
        Assert.Contains("/training/learnig_rate", locations); // additionalProperties: false
    }

    [Fact]
    public void PEFTs_adapter_config_validates_against_the_TrainableTokensConfig_schema()
    {
        var config = new TrainableTokensConfig { TokenIndices = [5, 6], InferenceMode = true, PeftVersion = "0.17.0" };

        var results = Validator.FromText(JsonSchemaWriter.Write(Schemas["TrainableTokensConfig"], Schemas), NewBuildOptions())
            .Evaluate(JsonDocument.Parse(config.ToJson()).RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });

        Assert.True(results.IsValid, Describe(results));
    }

    [Theory]
    [InlineData("TrainingConfig")]
    [InlineData("TrainableTokensConfig")]
    public void Schema_defaults_are_the_defaults_of_the_generated_class(string name)
    {
        var schema = JsonNode.Parse(JsonSchemaWriter.Write(Schemas[name], Schemas))!;
        var made = JsonNode.Parse(name == "TrainingConfig" ? new TrainingConfig().ToJson() : new TrainableTokensConfig { TokenIndices = [1] }.ToJson())!;

        var properties = schema["properties"]!.AsObject();
        Assert.Equal(properties.Select(p => p.Key).Order(), made.AsObject().Select(p => p.Key).Order());
        foreach (var (key, property) in properties)
        {
            if (property!.AsObject().TryGetPropertyValue("default", out var value))
                Assert.True(JsonNode.DeepEquals(value, made[key]), $"{key}: schema says {value?.ToJsonString() ?? "null"}, the class {made[key]?.ToJsonString() ?? "null"}");
        }
    }

    [Fact]
    public void Every_schema_is_a_draft_07_schema_that_forbids_unknown_keys()
    {
        foreach (var (name, schema) in Schemas)
        {
            var json = JsonNode.Parse(JsonSchemaWriter.Write(schema, Schemas))!;
            Assert.Equal(JsonSchemaWriter.Draft, (string?)json["$schema"]);
            Assert.False((bool)json["additionalProperties"]!, name);
            _ = Validator.FromText(json.ToJsonString(), NewBuildOptions());
        }
    }

    private static EvaluationResults Evaluate(string schemaName, string yaml)
    {
        var schema = Validator.FromText(JsonSchemaWriter.Write(Schemas[schemaName], Schemas), NewBuildOptions());
        var instance = JsonDocument.Parse(YamlToJson(yaml)?.ToJsonString() ?? "null").RootElement;
        return schema.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List });
    }

    private static BuildOptions NewBuildOptions() => new() { SchemaRegistry = new SchemaRegistry() };

    private static IEnumerable<EvaluationResults> Leaves(EvaluationResults results) =>
        (results.Details ?? []).Where(d => !d.IsValid && d.Errors is { Count: > 0 }).Concat((results.Details ?? []).SelectMany(Leaves));

    private static string Describe(EvaluationResults results) =>
        string.Join("; ", Leaves(results).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}")));

    /// <summary>
    /// YAML to JSON, written independently of the engine's reader: plain scalars that JSON reads as a number, true,
    /// false or null are those; quoted scalars and everything else are strings.
    /// </summary>
    private static JsonNode? YamlToJson(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return Convert(stream.Documents[0].RootNode);

        static JsonNode? Convert(YamlNode node) => node switch
        {
            YamlMappingNode m => new JsonObject(m.Children.Select(e => KeyValuePair.Create(((YamlScalarNode)e.Key).Value!, Convert(e.Value)))),
            YamlSequenceNode s => new JsonArray(s.Children.Select(Convert).ToArray()),
            YamlScalarNode { Style: ScalarStyle.Plain } p when p.Value is "" or "~" or "null" => null,
            YamlScalarNode { Style: ScalarStyle.Plain } p when TryJson(p.Value!) is { } parsed => parsed,
            YamlScalarNode p => JsonValue.Create(p.Value),
            _ => null,
        };

        static JsonNode? TryJson(string text)
        {
            try
            {
                return JsonNode.Parse(text) is JsonValue value ? value : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }
}
