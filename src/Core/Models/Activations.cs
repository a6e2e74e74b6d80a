using TorchSharp;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>The MLP activations Hugging Face names in config.json (<c>hidden_act</c>, <c>activation_function</c>).</summary>
public static class Activations
{
    private static readonly string[] Known = { "silu", "swish", "gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu" };

    public static void Validate(string name, string configPath)
    {
        if (System.Array.IndexOf(Known, name) < 0)
            throw new InvalidModelFolderException(
                $"'{configPath}': activation '{name}' is not supported. Supported: {string.Join(", ", Known)}.", configPath);
    }

    public static Tensor Apply(string name, Tensor x) => Of(name)(x);

    /// <summary>The activation as a function, resolved once when a model is built.</summary>
    public static System.Func<Tensor, Tensor> Of(string name) => name switch
    {
        "silu" or "swish" => x => nn.functional.silu(x),
        "gelu" => x => nn.functional.gelu(x),
        // gelu_new and gelu_pytorch_tanh are both the tanh approximation 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3))).
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => x => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        "relu" => x => nn.functional.relu(x),
        _ => throw new System.ArgumentException($"Unknown activation '{name}'.", nameof(name)),
    };
}
