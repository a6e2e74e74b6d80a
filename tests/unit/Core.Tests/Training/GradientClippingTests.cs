using System.Linq;
using TorchSharp.Modules;
using TrainableTokens.Core.Runtime;
using TrainableTokens.Core.Training;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Training;

/// <summary>The loop clips on the device (libtorch's clip_grad_norm_ reads the norm back every step); it must give the
/// same gradients and norm as libtorch's, bit for bit, so CPU runs and their recorded results do not change.</summary>
public sealed class GradientClippingTests
{
    [Theory]
    [InlineData(1, 0.5)]
    [InlineData(3, 0.5)]
    [InlineData(3, 1e6)]
    [InlineData(2, 1e-3)]
    public void Device_side_clipping_equals_libtorchs_clip_grad_norm(int count, double maxNorm)
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using var generator = new Generator(11, CPU);
        var grads = Enumerable.Range(0, count).Select(i => randn(new long[] { 3 + i, 7 }, ScalarType.Float32, CPU, generator: generator) * (i + 1.7)).ToArray();
        Parameter[] Make() => grads.Select(g =>
        {
            var p = new Parameter(zeros(g.shape, ScalarType.Float32, CPU));
            p.grad = g.clone();
            return p;
        }).ToArray();
        var theirs = Make();
        var ours = Make();
        double expected = nn.utils.clip_grad_norm_(theirs, maxNorm);
        var norm = GradientClipping.ClipGradNorm(ours, maxNorm);
        Assert.Equal(expected, (double)norm.item<float>());
        for (int i = 0; i < count; i++)
            Assert.True(theirs[i].grad!.eq(ours[i].grad!).all().item<bool>(), $"gradient {i} differs after clipping to {maxNorm}");
    }

    [Fact]
    public void Without_clipping_the_norm_is_reported_and_the_gradients_kept()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var p = new Parameter(zeros(new long[] { 2, 2 }, ScalarType.Float32, CPU));
        p.grad = tensor(new float[] { 3, 0, 0, 4 }, new long[] { 2, 2 }, device: CPU);
        var norm = GradientClipping.ClipGradNorm([p], 0);
        Assert.Equal(5f, norm.item<float>());
        Assert.Equal(new float[] { 3, 0, 0, 4 }, p.grad!.data<float>().ToArray());
    }
}
