using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Training;

/// <summary>
/// Gradient-norm clipping that stays on the device. libtorch's C++ clip_grad_norm_ (what TorchSharp calls) returns the
/// norm as a host double, which makes every step wait for the GPU; this computes the same thing in the same order
/// (per-gradient 2-norms, their 2-norm, max_norm / (norm + 1e-6) clamped at 1, gradients scaled in place) and returns
/// the norm before clipping as a 0-dim tensor, read back only when the loop logs it.
/// </summary>
internal static class GradientClipping
{
    /// <summary>Clips the gradients of <paramref name="parameters"/> to a total 2-norm of <paramref name="maxNorm"/> when
    /// <paramref name="maxNorm"/> is positive (exactly as libtorch's clip_grad_norm_); returns the total norm before
    /// clipping (float32, on the gradients' device).</summary>
    public static Tensor ClipGradNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        var grads = parameters.Select(p => p.grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return zeros(System.Array.Empty<long>(), ScalarType.Float32, CPU);
        using var noGrad = no_grad();
        var norms = grads.Select(g => g.norm()).ToArray();
        if (maxNorm <= 0) return stack(norms).norm(); // not clipping: the norm as the loop always computed it
        var total = norms.Length == 1 ? norms[0] : stack(norms).norm();
        var denominator = total + 1e-6;
        // As ATen computes scalar / tensor: the scalar filled into the tensor's dtype, then divided.
        var coefficient = full_like(denominator, maxNorm).div_(denominator).clamp_max(1.0);
        foreach (var g in grads) g.mul_(coefficient);
        return total;
    }
}
