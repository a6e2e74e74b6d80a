using System.Linq;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tests.Models;
using TrainableTokens.Core.Tuners.Lora;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Tuners.Lora;

/// <summary>Shared helpers: configs in code, seeded pairs set to recognisable values, exact comparisons.</summary>
internal static class LoraTestModels
{
    public static LoraConfig Config(params string[] targets) => new()
    {
        R = 4,
        LoraAlpha = 8,
        TargetModules = targets.Length == 0 ? null : targets.Length == 1 && targets[0].Contains('*') ? LoraTargets.FromString(targets[0]) : LoraTargets.List(targets),
    };

    /// <summary>Sets every A and B of <paramref name="name"/> to seeded normal values, as if trained (B is not zero).</summary>
    public static void Randomize(LoraModel tuner, string name = "default", int seed = 7)
    {
        using var noGrad = no_grad();
        var generator = new Generator((ulong)seed);
        foreach (var p in tuner.TrainableParameters(name))
            p.copy_(randn(p.shape, generator: generator).mul_(0.1));
    }

    public static Tensor Ids() => TinyModels.Ids(new long[] { 3, 5, 9, 6, 11, 5 }, new long[] { 1, 2, 40, 7, 8, 9 });

    public static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    public static CausalLanguageModel Build(string type, int seed = 0, ScalarType dtype = ScalarType.Float32) =>
        TinyModels.Build(new TinyModelSpec { ModelType = type, Seed = seed }, dtype);
}
