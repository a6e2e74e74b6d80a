using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace TrainableTokens.Generators.Tests;

/// <summary>Runs the generator through Roslyn's driver, as the compiler does, and compiles and loads what it wrote.</summary>
internal static class GeneratorHarness
{
    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    /// <summary>The engine's runtime support for generated code (src/Core/Configuration/Runtime), which output compiles against.</summary>
    private static readonly Lazy<IReadOnlyList<SyntaxTree>> RuntimeSources = new(() =>
        Directory.GetFiles(Repository.Path("src", "Core", "Configuration", "Runtime"), "*.cs")
            .Select(path => CSharpSyntaxTree.ParseText(File.ReadAllText(path), ParseOptions, path))
            .ToList());

    /// <summary>The framework and YamlDotNet; not this test assembly, which holds its own generated copies of the engine's configs.</summary>
    private static readonly Lazy<IReadOnlyList<MetadataReference>> References = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(path => !Path.GetFileName(path).StartsWith("TrainableTokens.", StringComparison.Ordinal))
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToList());

    public static GeneratorRun Run(params (string Path, string Text)[] schemas)
    {
        var compilation = CSharpCompilation.Create("Generated.Configs", RuntimeSources.Value, References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var texts = schemas.Select(s => (AdditionalText)new SchemaText(s.Path, s.Text)).ToList();
        GeneratorDriver driver = CSharpGeneratorDriver.Create(
            new[] { new ConfigGenerator().AsSourceGenerator() },
            texts,
            ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        return new GeneratorRun(driver, texts, compilation, output, diagnostics);
    }

    /// <summary>The schema files of a folder, as (path, text) pairs.</summary>
    public static (string Path, string Text)[] Folder(string folder) =>
        Directory.GetFiles(folder, "*.schema.yaml").OrderBy(f => f, StringComparer.Ordinal).Select(f => (f, File.ReadAllText(f))).ToArray();

    /// <summary>Compiles the generated classes with the runtime support and loads them into a load context of their own.</summary>
    public static Assembly Load(Compilation output)
    {
        using var image = new MemoryStream();
        var result = output.Emit(image);
        Assert.True(result.Success, string.Join(Environment.NewLine, result.Diagnostics));
        image.Position = 0;
        return new AssemblyLoadContext("generated-configs", isCollectible: true).LoadFromStream(image);
    }

    /// <summary>A schema file's text as the compiler hands it to the generator.</summary>
    public sealed class SchemaText : AdditionalText
    {
        private readonly SourceText _text;

        public SchemaText(string path, string text)
        {
            Path = path;
            _text = SourceText.From(text);
        }

        public override string Path { get; }

        public override SourceText GetText(CancellationToken cancellationToken = default) => _text;
    }
}

/// <summary>One generator run: the driver and its texts (for a second, incremental run), the compilation before and after, the diagnostics.</summary>
internal sealed record GeneratorRun(GeneratorDriver Driver, IReadOnlyList<AdditionalText> Texts, Compilation Input, Compilation Output, ImmutableArray<Diagnostic> Diagnostics)
{
    public IReadOnlyList<GeneratedSourceResult> Sources => Driver.GetRunResult().Results.Single().GeneratedSources;

    public string Source(string hintName) => Sources.Single(s => s.HintName == hintName).SourceText.ToString();
}
