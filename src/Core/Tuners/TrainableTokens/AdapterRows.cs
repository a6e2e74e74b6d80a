using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tuners.TrainableTokens;

/// <summary>
/// One adapter's state on one layer: the token ids, their trained values (PEFT's <c>trainable_tokens_delta</c>,
/// values rather than differences) and the rows they replace. Values are float32 whatever the model's dtype, as PEFT
/// keeps them (autocast_adapter_dtype); originals keep the weight's dtype so unmerge restores them bit for bit.
/// </summary>
public sealed class AdapterRows : IDisposable
{
    public AdapterRows(string name, long[] tokenIndices, Tensor values, Tensor originals)
    {
        Name = name;
        TokenIndices = tokenIndices;
        // The rows live as long as the adapter, not as long as whatever dispose scope is active when it is created.
        Index = tensor(tokenIndices, ScalarType.Int64, values.device).DetachFromDisposeScope();
        Values = new Parameter(values.to(ScalarType.Float32).detach().clone().DetachFromDisposeScope(), requires_grad: true);
        Originals = originals.detach().clone().DetachFromDisposeScope();
    }

    public string Name { get; }
    public long[] TokenIndices { get; }
    /// <summary>The token ids as an int64 tensor [k] on the weight's device.</summary>
    public Tensor Index { get; }
    /// <summary>The trained rows [k, hidden], float32, the only tensor with gradients.</summary>
    public Parameter Values { get; }
    /// <summary>The weight's rows before the adapter [k, hidden], in the weight's dtype, whatever init_weights says: what unmerge restores.</summary>
    public Tensor Originals { get; }

    public void Dispose()
    {
        Index.Dispose();
        Values.Dispose();
        Originals.Dispose();
    }
}
