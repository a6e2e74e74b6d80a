using System.IO;

namespace TrainableTokens.Core.Tests;

/// <summary>The files shipped in the repository's examples folder that tests train and check on.</summary>
internal static class Examples
{
    /// <summary>The repository root, found from this source file's place (tests/unit/Core.Tests).</summary>
    public static string Root { get; } = Repo();

    /// <summary>The tiny Llama 3 model with the real Llama 3 tokenizer.</summary>
    public static string Llama3 => Path.Combine(Root, "examples", "models", "tiny-llama3");

    /// <summary>The quickstart dataset (JSON Lines).</summary>
    public static string QuickstartData => Path.Combine(Root, "examples", "data", "quickstart.jsonl");

    private static string Repo([System.Runtime.CompilerServices.CallerFilePath] string file = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, "..", "..", ".."));
}
