using System;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Generation;

/// <summary>How the queries of one cached step may see the keys <see cref="LayerKeyValues.Append"/> returned.</summary>
internal enum CachedMaskKind
{
    /// <summary>Every query sees every key (one new token, keys already cut to its window).</summary>
    None,
    /// <summary>Queries and keys are the same positions: plain causal attention, as the uncached forward runs it.</summary>
    Causal,
    /// <summary>Anything else (a chunk after a prefix, a window narrower than the chunk): an explicit additive mask.</summary>
    Explicit,
}

/// <summary>The keys and values one attention layer attends to in a cached step, with how they are masked.</summary>
internal readonly record struct CachedKeys(Tensor Keys, Tensor Values, CachedMaskKind Mask, long QueryStart, long KeyStart, int Window)
{
    /// <summary>The additive mask [1, 1, queries, keys]: 0 where a query may look, the dtype's lowest value elsewhere.</summary>
    public Tensor Additive(long queries, ScalarType dtype, Device device)
    {
        long keys = Keys.shape[2];
        var q = arange(QueryStart, QueryStart + queries, ScalarType.Int64, device).unsqueeze(1);
        var k = arange(KeyStart, KeyStart + keys, ScalarType.Int64, device).unsqueeze(0);
        var allowed = k <= q;
        if (Window > 0) allowed = allowed.logical_and(q - k < Window);
        return zeros(new[] { 1L, 1, queries, keys }, dtype, device).masked_fill(allowed.logical_not().unsqueeze(0).unsqueeze(0), finfo(dtype).min);
    }
}

/// <summary>
/// One layer's keys and values (after rotation, before grouped-query heads are repeated) in buffers that grow by
/// doubling, so a new token is written in place instead of copying the whole prefix. A sliding-window layer drops the
/// keys no later query can see whenever its buffer is full, so it never holds more than twice its window plus a chunk.
/// The buffers are owned by this object, outside every dispose scope.
/// </summary>
internal sealed class LayerKeyValues : IDisposable
{
    private Tensor? _keys, _values;      // [batch, kv heads, capacity, head dim]
    private long _count;                 // valid entries
    private long _first;                 // the position of entry 0

    public LayerKeyValues(int? slidingWindow, long capacityHint)
    {
        Window = slidingWindow is { } w && w > 0 ? w : 0;
        _capacityHint = Math.Max(1, Window > 0 ? Math.Min(capacityHint, 2L * Window) : capacityHint);
    }

    private readonly long _capacityHint;

    /// <summary>The layer's sliding window, or 0 for full attention.</summary>
    public int Window { get; }

    /// <summary>How many positions are held (at most about twice the window for a sliding layer).</summary>
    public long Count => _count;

    /// <summary>The allocated positions.</summary>
    public long Capacity => _keys?.shape[2] ?? 0;

    /// <summary>
    /// Stores the keys and values of the positions <paramref name="start"/>.. (<paramref name="keys"/> [batch, kv heads,
    /// new, head dim]) and returns what those queries attend to: the held keys they can see and how to mask them.
    /// </summary>
    public CachedKeys Append(Tensor keys, Tensor values, long start)
    {
        long t = keys.shape[2];
        if (_count > 0 && _first + _count != start)
            throw new InvalidOperationException($"The cache holds positions up to {_first + _count - 1}, but this step starts at {start}.");
        if (_count == 0) _first = start;
        using (no_grad())
        {
            if (Window > 0 && _count + t > Capacity) Compact(start, t, keys);
            if (_count + t > Capacity) Grow(Math.Max(_count + t, Math.Max(2 * Capacity, _capacityHint)), keys);
            _keys!.narrow(2, _count, t).copy_(keys);
            _values!.narrow(2, _count, t).copy_(values);
        }
        _count += t;
        // The first query of the step sees back to start - window + 1; nothing older is attended.
        long keyStart = Window > 0 ? Math.Max(_first, start - Window + 1) : _first;
        long offset = keyStart - _first, visible = _count - offset;
        var mask = t == 1 ? CachedMaskKind.None
            : keyStart == start && (Window == 0 || Window >= t) ? CachedMaskKind.Causal
            : CachedMaskKind.Explicit;
        return new CachedKeys(_keys!.narrow(2, offset, visible), _values!.narrow(2, offset, visible), mask, start, keyStart, Window);
    }

    /// <summary>Keeps only the held keys that the queries from <paramref name="start"/> on can still see, in a buffer sized for them and this step.</summary>
    private void Compact(long start, long t, Tensor like)
    {
        long keepFrom = Math.Max(0, start - Window + 1 - _first);
        if (keepFrom == 0) return;
        long kept = _count - keepFrom;
        Replace(Math.Max(2L * Window, kept + t), like, keepFrom, kept);
        _first += keepFrom;
        _count = kept;
    }

    private void Grow(long capacity, Tensor like) => Replace(capacity, like, 0, _count);

    /// <summary>New buffers of <paramref name="capacity"/> positions holding entries <paramref name="from"/>..+<paramref name="count"/> of the old ones.</summary>
    private void Replace(long capacity, Tensor like, long from, long count)
    {
        long b = like.shape[0], heads = like.shape[1], dim = like.shape[3];
        using var scope = NewDisposeScope();
        var keys = empty(new[] { b, heads, capacity, dim }, like.dtype, like.device);
        var values = empty(new[] { b, heads, capacity, dim }, like.dtype, like.device);
        if (count > 0)
        {
            keys.narrow(2, 0, count).copy_(_keys!.narrow(2, from, count));
            values.narrow(2, 0, count).copy_(_values!.narrow(2, from, count));
        }
        _keys?.Dispose();
        _values?.Dispose();
        _keys = keys.DetachFromDisposeScope();
        _values = values.DetachFromDisposeScope();
    }

    public void Dispose()
    {
        _keys?.Dispose();
        _values?.Dispose();
        _keys = _values = null;
        _count = 0;
    }
}
