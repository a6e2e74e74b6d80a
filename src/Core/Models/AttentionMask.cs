using System.Collections.Generic;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>
/// Builds additive attention masks [batch, 1, seq, seq]: 0 where a query may attend, the dtype's lowest value
/// elsewhere. Causal, padding (from a [batch, seq] mask of 1s and 0s) and sliding windows combine in one boolean
/// before the conversion, so a fully masked row never sums two lowest values into -inf (which would give NaN).
/// </summary>
public sealed class AttentionMask : System.IDisposable
{
    private readonly Tensor? _padding;
    private readonly long _length;
    private readonly ScalarType _dtype;
    private readonly Device _device;
    private readonly Dictionary<int, Tensor> _byWindow = new();

    /// <param name="paddingMask">[batch, seq] of 1s and 0s, on any device; it is read where it is (callers keep it on the
    /// CPU, so a GPU forward never waits for the device to answer) and moved to <paramref name="device"/>.</param>
    public AttentionMask(Tensor? paddingMask, long length, ScalarType dtype, Device device)
    {
        // All-ones padding is the same as none: keep the fast causal path.
        _padding = paddingMask is not null && HasPadding(paddingMask) ? paddingMask.to(ScalarType.Bool).to(device).alias() : null;
        _length = length;
        _dtype = dtype;
        _device = device;
    }

    /// <summary>The additive mask for a layer, or null when plain causal attention is exact (no padding, no effective window).</summary>
    public Tensor? For(int? slidingWindow) => _padding is null && Window(slidingWindow) == 0 ? null : Additive(slidingWindow);

    /// <summary>The additive mask for a layer, built even where plain causal attention would do (explicit attention needs it).</summary>
    public Tensor Additive(int? slidingWindow)
    {
        int key = Window(slidingWindow);
        if (_byWindow.TryGetValue(key, out var cached)) return cached;
        Tensor mask;
        {
            using var scope = NewDisposeScope();
            var q = arange(_length, ScalarType.Int64, _device).unsqueeze(1);
            var k = arange(_length, ScalarType.Int64, _device).unsqueeze(0);
            var allowed = k <= q;
            if (key > 0) allowed = allowed.logical_and(q - k < key);
            var allowed4 = allowed.unsqueeze(0).unsqueeze(0); // [1, 1, seq, seq]
            if (_padding is not null) allowed4 = allowed4.logical_and(_padding.unsqueeze(1).unsqueeze(1)); // keys only
            // Owned by this object (disposed with it), not by the scope of the layer that first asks for it.
            mask = zeros(allowed4.shape, _dtype, _device).masked_fill(allowed4.logical_not(), finfo(_dtype).min).DetachFromDisposeScope();
        }
        _byWindow[key] = mask;
        return mask;
    }

    private static bool HasPadding(Tensor paddingMask)
    {
        using var scope = NewDisposeScope();
        return paddingMask.eq(0).any().item<bool>(); // sync: host mask (callers pass it on the CPU)
    }

    /// <summary>The window that changes anything for this length, or 0 for none.</summary>
    private int Window(int? slidingWindow) => slidingWindow is { } w && w < _length ? w : 0;

    public void Dispose()
    {
        _padding?.Dispose();
        foreach (var m in _byWindow.Values) m.Dispose();
    }
}
