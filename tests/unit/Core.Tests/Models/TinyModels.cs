using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Runtime;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Models;

/// <summary>In-memory tiny models for tests that do not need files: the factory's config and seeded weights.</summary>
internal static class TinyModels
{
    public static ModelConfig Config(TinyModelSpec spec)
    {
        using var doc = JsonDocument.Parse(TinyModelFactory.ConfigJson(spec));
        return ModelConfigReader.Parse(doc.RootElement, "config.json");
    }

    public static CausalLanguageModel Build(TinyModelSpec spec, ScalarType dtype = ScalarType.Float32)
    {
        TorchRuntime.EnsureLoaded();
        var config = Config(spec);
        var weights = TinyModelFactory.RandomWeights(config, spec.Seed, dtype).ToDictionary(kv => kv.Key, kv => kv.Value);
        return ModelLoader.Create(config, weights);
    }

    public static CausalLanguageModel Build(string type, int seed = 0) => Build(new TinyModelSpec { ModelType = type, Seed = seed });

    public static Tensor Ids(params long[][] rows) => tensor(rows.SelectMany(r => r).ToArray(), new long[] { rows.Length, rows[0].Length });

    public static IEnumerable<object[]> Architectures => ModelArchitectures.Supported.Select(a => new object[] { a });
}
