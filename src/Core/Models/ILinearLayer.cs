using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>
/// One projection of the decoder (q_proj, o_proj, c_attn, down_proj...). Every projection goes through this seam, so a
/// tuner can wrap any of them by its module path (<see cref="CausalLanguageModel.LinearLayers"/>), as LoRA wraps
/// PEFT's target modules; the model only ever calls <see cref="Forward"/>.
/// </summary>
public interface ILinearLayer
{
    /// <summary>The module path as PEFT names it, e.g. <c>model.layers.0.self_attn.q_proj</c>.</summary>
    string Path { get; }

    /// <summary>The frozen base weight as the checkpoint stores it: [out, in], or [in, out] when <see cref="FanInFanOut"/>.</summary>
    Tensor Weight { get; }

    Tensor? Bias { get; }

    /// <summary>True for Hugging Face's Conv1D (GPT-2), whose weight is stored [in, out]: PEFT's <c>fan_in_fan_out</c>.</summary>
    bool FanInFanOut { get; }

    /// <summary>[..., in] to [..., out].</summary>
    Tensor Forward(Tensor x);
}
