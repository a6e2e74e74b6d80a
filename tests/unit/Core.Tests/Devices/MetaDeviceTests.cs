using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Runtime;
using TrainableTokens.Core.Training;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Devices;

/// <summary>
/// libtorch's meta device has tensors without data: any attempt to read one back to the host fails ("Cannot copy out
/// of meta tensor"), and most elementwise kernels refuse a non-scalar CPU operand. So the pieces of the per-step path
/// that do run on meta (it lacks kernels for the rest, see <see cref="DeviceDisciplineTests"/>) are run there with their
/// inputs made as the engine makes them: each fails if it reads the device back or mixes a CPU tensor in, as it would
/// stall or fail on a GPU.
/// </summary>
public sealed class MetaDeviceTests
{
    private static readonly Device Meta = new("meta");

    [Fact]
    public void The_attention_mask_reads_the_padding_where_the_caller_made_it()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        // The collator keeps the padding mask on the CPU and the model passes it on unmoved: it is read there, and only
        // then moved. Moved first (as before), reading it is a device read back, which meta refuses. (Meta has no
        // logical_and kernel, so the mask itself cannot be built here.)
        var padding = tensor(new long[] { 1, 1, 1, 0, 1, 1, 1, 1 }, new long[] { 2, 4 }, device: CPU);
        using (new AttentionMask(padding, 4, ScalarType.Float32, Meta)) { }
        Assert.ThrowsAny<System.Exception>(() => new AttentionMask(padding.to(Meta), 4, ScalarType.Float32, Meta));
    }

    [Theory]
    [InlineData("dynamic")]
    [InlineData("default")]
    public void Rotary_angles_take_the_position_count_from_the_host(string type)
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var rope = type == "dynamic" ? RopeParameters.Default with { Type = "dynamic", Factor = 2 } : RopeParameters.Default;
        using var rotary = new RotaryEmbedding(8, rope, 16, Meta);
        var positions = arange(40, ScalarType.Int64, Meta).unsqueeze(0);
        // 40 positions pass the 16 the model was trained on: dynamic scaling needs the count, which the forward knows.
        var (cos, sin) = rotary.Angles(positions, ScalarType.Float32, 40);
        Assert.Equal(DeviceType.META, cos.device_type);
        Assert.Equal(new long[] { 1, 40, 8 }, sin.shape);
    }

    [Fact]
    public void Gradient_clipping_stays_on_the_device()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var parameters = Enumerable.Range(0, 2).Select(_ =>
        {
            var p = new Parameter(zeros(new long[] { 3, 4 }, ScalarType.Float32, Meta));
            p.grad = ones(new long[] { 3, 4 }, ScalarType.Float32, Meta);
            return p;
        }).ToArray();
        // libtorch's clip_grad_norm_ returns a host double: on meta it fails where a GPU would wait.
        Assert.ThrowsAny<System.Exception>(() => nn.utils.clip_grad_norm_(parameters, 1.0));
        var norm = GradientClipping.ClipGradNorm(parameters, 1.0);
        Assert.Equal(DeviceType.META, norm.device_type);
        Assert.Equal(DeviceType.META, GradientClipping.ClipGradNorm(parameters, 0).device_type);
    }

    [Fact]
    public void The_embedding_scale_is_a_host_scalar_the_device_kernel_takes_as_is()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var h = zeros(new long[] { 1, 2, 4 }, ScalarType.BFloat16, Meta);
        // What CausalLanguageModel does for Gemma: a 0-dim CPU tensor joins a device kernel without a copy.
        Assert.Equal(DeviceType.META, (h * tensor(2.0, ScalarType.BFloat16, CPU)).device_type);
        Assert.ThrowsAny<System.Exception>(() => h * ones(new long[] { 4 }, ScalarType.BFloat16, CPU));
    }
}
