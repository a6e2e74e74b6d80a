using System;
using System.IO;

namespace TrainableTokens.Generators.Tests;

/// <summary>Paths in this repository, found from the test's output folder.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    public static string SchemasFolder => Path("src", "Core", "Schemas");

    public static string SamplesFolder => Path("tests", "unit", "Generators.Tests", "Schemas");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "TrainableTokens.slnx"))) return dir.FullName;
        throw new InvalidOperationException("The repository root (TrainableTokens.slnx) is not above " + AppContext.BaseDirectory);
    }
}
