using System.Linq;
using Microsoft.CodeAnalysis;

namespace TrainableTokens.Generators.Tests;

/// <summary>Broken schemas give generator diagnostics (TTG001...) pointing at the file and line, and no class.</summary>
public class SchemaDiagnosticTests
{
    private const string Header = "type: object\nproperties:\n";

    [Theory]
    [InlineData("TTG001", 4, "type: object\nproperties:\n  a: [unclosed\n")]  // found where the text ends
    [InlineData("TTG002", 1, "type: array\nproperties:\n  a: {type: string, default: x}\n")]
    [InlineData("TTG002", 1, "- just\n- a list\n")]
    [InlineData("TTG003", 6, Header + "  a:\n    type: integer\n    default: 1\n    minimun: 0\n")]
    [InlineData("TTG004", 4, Header + "  a:\n    type: integr\n    default: 1\n")]
    [InlineData("TTG004", 4, Header + "  a:\n    type: [string, integer]\n    default: x\n")]
    [InlineData("TTG005", 3, Header + "  learningRate:\n    type: number\n    default: 1\n")]
    [InlineData("TTG006", 5, Header + "  a:\n    type: integer\n    default: \"1\"\n")]
    [InlineData("TTG006", 6, Header + "  a:\n    type: integer\n    minimum: 0\n    default: -1\n")]
    [InlineData("TTG006", 5, Header + "  a:\n    type: string\n    default: null\n")]
    [InlineData("TTG007", 1, "required: [b]\n" + Header + "  a:\n    type: [string, \"null\"]\n    default: null\n")]
    [InlineData("TTG008", 5, Header + "  a:\n    oneOf:\n      - type: integer\n      - type: string\n    default: x\n")]
    [InlineData("TTG009", 5, Header + "  a:\n    type: string\n    pattern: \"([a-z\"\n    default: x\n")]
    [InlineData("TTG010", 3, Header + "  a:\n    $ref: Missing.schema.yaml\n")]
    [InlineData("TTG012", 5, Header + "  a:\n    type: string\n    enum: [1, 2]\n    default: x\n")]
    [InlineData("TTG013", 5, Header + "  a:\n    type: string\n    minimum: 0\n    default: x\n")]
    [InlineData("TTG013", 1, "additionalProperties: true\n" + Header + "  a:\n    type: boolean\n    default: true\n")]
    [InlineData("TTG014", 3, Header + "  a:\n    type: integer\n")]
    [InlineData("TTG015", 3, Header + "  keys:\n    type: integer\n    default: 1\n")]
    public void A_broken_schema_gets_a_diagnostic_at_the_right_line(string id, int line, string schema)
    {
        var run = GeneratorHarness.Run(("/schemas/Broken.schema.yaml", schema));

        var diagnostic = run.Diagnostics.FirstOrDefault(d => d.Id == id);
        Assert.True(diagnostic is not null, $"expected {id}, got: {string.Join("; ", run.Diagnostics)}");
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        var span = diagnostic.Location.GetLineSpan();
        Assert.Equal("/schemas/Broken.schema.yaml", span.Path);
        Assert.Equal(line, span.StartLinePosition.Line + 1);
        Assert.DoesNotContain(run.Sources, s => s.HintName == "Broken.g.cs");
    }

    [Fact]
    public void A_schema_file_name_that_is_not_a_class_name_is_reported()
    {
        var run = GeneratorHarness.Run(("/schemas/training-config.schema.yaml", Header + "  a:\n    type: boolean\n    default: true\n"));

        var diagnostic = Assert.Single(run.Diagnostics);
        Assert.Equal("TTG011", diagnostic.Id);
        Assert.Contains("PascalCase", diagnostic.GetMessage());
    }

    [Fact]
    public void A_misspelled_keyword_gets_a_suggestion()
    {
        var run = GeneratorHarness.Run(("/schemas/Broken.schema.yaml", Header + "  a:\n    type: integer\n    default: 1\n    maximun: 3\n"));

        Assert.Contains("Did you mean 'maximum'?", Assert.Single(run.Diagnostics).GetMessage());
    }

    [Fact]
    public void Every_problem_in_a_schema_is_reported_not_only_the_first()
    {
        var run = GeneratorHarness.Run(("/schemas/Broken.schema.yaml",
            Header + "  a:\n    type: integr\n  b:\n    type: string\n    default: 5\n  C:\n    type: boolean\n    default: true\n"));

        Assert.Equal(new[] { "TTG004", "TTG005", "TTG006" }, run.Diagnostics.Select(d => d.Id).Order());
    }

    [Fact]
    public void A_cycle_of_refs_is_reported_and_a_schema_that_uses_a_broken_one_is_not_emitted()
    {
        var run = GeneratorHarness.Run(
            ("/s/A.schema.yaml", Header + "  b:\n    $ref: B.schema.yaml\n"),
            ("/s/B.schema.yaml", Header + "  a:\n    $ref: A.schema.yaml\n"),
            ("/s/C.schema.yaml", "required: [x]\n" + Header + "  x:\n    type: integer\n"),
            ("/s/D.schema.yaml", Header + "  c:\n    $ref: C.schema.yaml\n"));

        Assert.Equal(new[] { "TTG010", "TTG010", "TTG010" }, run.Diagnostics.Select(d => d.Id));
        Assert.Contains(run.Diagnostics, d => d.GetMessage().Contains("cycle"));
        Assert.Contains(run.Diagnostics, d => d.GetMessage().Contains("List 'c' under 'required'"));
        Assert.Equal(new[] { "C.g.cs" }, run.Sources.Select(s => s.HintName));
    }
}
