using System;
using System.Collections.Immutable;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using TrainableTokens.Generators.Emit;
using TrainableTokens.Generators.Schema;

namespace TrainableTokens.Generators;

/// <summary>
/// Turns every <c>*.schema.yaml</c> AdditionalFile into a typed, validated config class in
/// <c>TrainableTokens.Core.Configuration</c>: schema text -> parsed schema (an equatable record, cached per file) ->
/// the set of schemas (for $refs) -> one C# file per schema. Schema problems are diagnostics TTG001... with positions.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class ConfigGenerator : IIncrementalGenerator
{
    /// <summary>The name of the parse step in the driver's step tracking (tests check that unchanged files are cached).</summary>
    public const string ParseStepName = "ParseSchema";

    private static readonly string Version = typeof(ConfigGenerator).Assembly.GetName().Version?.ToString() ?? "0.0.0.0";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // 1. The schema files among the AdditionalFiles.
        var files = context.AdditionalTextsProvider
            .Where(static file => file.Path.EndsWith(SchemaParser.FileSuffix, StringComparison.OrdinalIgnoreCase));

        // 2. Each file parsed on its own; unchanged files keep their cached result.
        var parsed = files
            .Select(static (file, cancellationToken) =>
                SchemaParser.Parse(file.Path, file.GetText(cancellationToken)?.ToString() ?? "", cancellationToken))
            .WithTrackingName(ParseStepName);

        // 3. Each file's own diagnostics.
        context.RegisterSourceOutput(parsed, static (output, schema) =>
        {
            foreach (var diagnostic in schema.Diagnostics) output.ReportDiagnostic(ToDiagnostic(diagnostic));
        });

        // 4. $refs need every schema: resolve the set, then write one class per usable schema.
        context.RegisterSourceOutput(parsed.Collect(), static (output, all) =>
        {
            var (usable, diagnostics) = SchemaSet.Resolve(all.Select(p => p.Schema).OfType<ConfigSchema>());
            foreach (var diagnostic in diagnostics) output.ReportDiagnostic(ToDiagnostic(diagnostic));
            foreach (var schema in usable.Values.OrderBy(s => s.ClassName, StringComparer.Ordinal))
            {
                output.CancellationToken.ThrowIfCancellationRequested();
                output.AddSource(schema.ClassName + ".g.cs", SourceText.From(ConfigClassWriter.Write(schema, usable, Version), Encoding.UTF8));
            }
        });
    }

    private static Diagnostic ToDiagnostic(SchemaDiagnostic d)
    {
        var span = d.Span;
        var location = Location.Create(d.FilePath, new TextSpan(span.Start, span.Length),
            new LinePositionSpan(new LinePosition(span.StartLine, span.StartColumn), new LinePosition(span.EndLine, span.EndColumn)));
        return Diagnostic.Create(Descriptors.For(d.Id), location, d.Message);
    }
}
