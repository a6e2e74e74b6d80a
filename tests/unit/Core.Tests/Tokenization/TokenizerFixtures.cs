using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;

namespace TrainableTokens.Core.Tests.Tokenization;

/// <summary>
/// The real tokenizer files in tests/fixtures/tokenizers and the ids Hugging Face's JavaScript tokenizers recorded for
/// them (tests/tokenizers/record-reference.mjs).
/// </summary>
internal static class TokenizerFixtures
{
    public static readonly string Root = Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers");

    public static readonly string[] Names = { "gemma3-trimmed", "gpt2", "llama2", "llama3-trimmed", "qwen3-trimmed" };

    public static IEnumerable<object[]> All => Names.Select(n => new object[] { n });

    private static readonly Lazy<JsonNode> ReferenceFile = new(() => JsonNode.Parse(File.ReadAllText(Path.Combine(Root, "reference-ids.json")))!);

    public static JsonNode Reference(string name) => ReferenceFile.Value["tokenizers"]![name]!;

    public static string ChatMlTemplate => ReferenceFile.Value["chatml_template"]!.GetValue<string>();

    public static string Folder(string name) => Path.Combine(Root, name);

    public static int[] Ints(JsonNode? array) => array!.AsArray().Select(x => x!.GetValue<int>()).ToArray();

    public static string[] Strings(JsonNode? array) => array!.AsArray().Select(x => x!.GetValue<string>()).ToArray();
}
