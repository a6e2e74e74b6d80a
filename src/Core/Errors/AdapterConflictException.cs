using System.Collections.Generic;
using System.Linq;

namespace TrainableTokens.Core;

/// <summary>Two adapters that would be active or merged together train the same token ids.</summary>
public sealed class AdapterConflictException : TrainableTokensException
{
    public AdapterConflictException(string adapter, string other, IReadOnlyCollection<long> overlap)
        : base("OverlappingAdapters", ErrorKind.InvalidArgument,
            $"Adapter '{adapter}' trains token ids that adapter '{other}' already trains: {string.Join(", ", overlap.Take(20))}" +
            (overlap.Count > 20 ? $" and {overlap.Count - 20} more" : "") +
            ". Only adapters with disjoint token ids can be active or merged together; use them one at a time, or retrain one without those ids.",
            adapter)
    {
        Adapter = adapter;
        Other = other;
        Overlap = overlap;
    }

    public string Adapter { get; }
    public string Other { get; }
    public IReadOnlyCollection<long> Overlap { get; }
}
