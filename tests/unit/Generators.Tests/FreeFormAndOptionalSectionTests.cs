using System.Collections;
using System.Linq;
using System.Text.Json;
using Microsoft.CodeAnalysis;
using TrainableTokens.Generators.JsonSchema;
using TrainableTokens.Generators.Schema;

namespace TrainableTokens.Generators.Tests;

/// <summary>Two schema forms PEFT's LoraConfig needs: a free-form value of several JSON types (trainable_token_indices: a
/// list or a mapping) and an optional section that is null unless given (a run file's trainable_tokens or lora).</summary>
public class FreeFormAndOptionalSectionTests
{
    private const string Holder = """
        $schema: http://json-schema.org/draft-07/schema#
        title: HolderConfig
        type: object
        additionalProperties: false
        properties:
          part:
            description: An optional section.
            $ref: PartConfig.schema.yaml
            default: null
          shape:
            description: A list or a mapping.
            type: [array, object, "null"]
            default: null
        """;

    private const string Part = """
        $schema: http://json-schema.org/draft-07/schema#
        title: PartConfig
        type: object
        additionalProperties: false
        required: [size]
        properties:
          size:
            description: A size.
            type: integer
        """;

    private static readonly (string, string)[] Schemas = [("HolderConfig.schema.yaml", Holder), ("PartConfig.schema.yaml", Part)];

    [Fact]
    public void A_value_of_several_json_types_reads_each_of_them_and_refuses_the_others()
    {
        var run = GeneratorHarness.Run(Schemas);
        Assert.Empty(run.Diagnostics);
        Assert.Empty(run.Output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        var holder = GeneratorHarness.Load(run.Output).GetType("TrainableTokens.Core.Configuration.HolderConfig", throwOnError: true)!;
        dynamic Read(string yaml) => holder.GetMethod("FromYaml")!.Invoke(null, [yaml, "h.yaml"])!;

        dynamic list = Read("shape: [1, 2]\n");
        Assert.Empty((IEnumerable)list.Validate());
        Assert.Equal(JsonValueKind.Array, ((JsonElement)list.Shape).ValueKind);
        dynamic map = Read("shape: {a: [1]}\n");
        Assert.Equal(JsonValueKind.Object, ((JsonElement)map.Shape).ValueKind);

        var wrong = ((IEnumerable)Read("shape: 5\n").Validate()).Cast<dynamic>().Single();
        Assert.Equal("shape", (string)wrong.Field);
        Assert.Equal(1, (int?)wrong.Line);
        Assert.Contains("must be a list or a mapping", (string)wrong.Message);
    }

    [Fact]
    public void An_optional_section_is_null_unless_given_and_is_left_out_when_written()
    {
        var run = GeneratorHarness.Run(Schemas);
        var holder = GeneratorHarness.Load(run.Output).GetType("TrainableTokens.Core.Configuration.HolderConfig", throwOnError: true)!;
        dynamic Read(string yaml) => holder.GetMethod("FromYaml")!.Invoke(null, [yaml, "h.yaml"])!;

        dynamic absent = Read("shape: [1]\n");
        Assert.Null((object?)absent.Part);
        Assert.Empty((IEnumerable)absent.Validate());
        Assert.Equal("shape: [1]\n", (string)absent.ToYaml(null));
        Assert.DoesNotContain("\"part\"", (string)absent.ToJson());

        dynamic given = Read("part:\n  size: 3\n");
        Assert.Equal(3, (int)given.Part.Size);
        Assert.Contains("part:\n  size: 3\n", (string)given.ToYaml(null));
        // Given, it is checked as any section: its required key must be there.
        var missing = ((IEnumerable)Read("part: {}\n").Validate()).Cast<dynamic>().Single();
        Assert.Equal("part.size", (string)missing.Field);
    }

    [Fact]
    public void The_json_schema_lists_the_types_and_lets_the_optional_section_be_null()
    {
        var parsed = Schemas.Select(s => SchemaParser.Parse(s.Item1, s.Item2).Schema!).ToList();
        var all = SchemaSet.Resolve(parsed).Usable;
        using var json = JsonDocument.Parse(JsonSchemaWriter.Write(all["HolderConfig"], all));
        var properties = json.RootElement.GetProperty("properties");
        Assert.Equal(new[] { "array", "object", "null" }, properties.GetProperty("shape").GetProperty("type").EnumerateArray().Select(t => t.GetString()));
        var branches = properties.GetProperty("part").GetProperty("anyOf").EnumerateArray().ToList();
        Assert.Equal("null", branches[1].GetProperty("type").GetString());
    }
}
