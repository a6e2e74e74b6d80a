using System.Linq;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Runtime;
using TrainableTokens.Core.Tests.Models;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Generation;

/// <summary>Tiny models whose matrices are N(0, 0.3) instead of N(0, 0.02): at the factory's scale attention is nearly
/// uniform and a tied head echoes the last token, so greedy decoding would repeat one id and prove little.</summary>
internal static class LivelyModels
{
    public static CausalLanguageModel Build(TinyModelSpec spec)
    {
        TorchRuntime.EnsureLoaded();
        var config = TinyModels.Config(spec);
        var weights = TinyModelFactory.RandomWeights(config, spec.Seed, ScalarType.Float32).ToDictionary(kv => kv.Key, kv => kv.Value);
        using (no_grad())
            foreach (var w in weights.Values.Where(w => w.dim() == 2)) w.mul_(15);
        return ModelLoader.Create(config, weights);
    }
}
