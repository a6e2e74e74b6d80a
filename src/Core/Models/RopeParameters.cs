using System;
using System.Collections.Generic;
using System.Linq;

namespace TrainableTokens.Core.Models;

/// <summary>
/// One rotary embedding's settings, the same whichever layout config.json uses (transformers 4.x <c>rope_theta</c> +
/// <c>rope_scaling</c>, or 5.x <c>rope_parameters</c>). Fields a type does not use are null. Values are as config.json
/// gives them, except <see cref="OriginalMaxPositions"/>, which is resolved the way transformers resolves it (see
/// <see cref="RopeConfigReader"/>), so both layouts of one model compare equal.
/// </summary>
public sealed record RopeParameters
{
    public static readonly IReadOnlyList<string> SupportedTypes = new[] { "default", "linear", "dynamic", "llama3", "yarn", "longrope" };

    public static readonly RopeParameters Default = new();

    /// <summary>One of <see cref="SupportedTypes"/>.</summary>
    public string Type { get; init; } = "default";
    public double Theta { get; init; } = 10000;
    /// <summary>The context stretch (linear, dynamic, llama3, yarn; optional for longrope).</summary>
    public double? Factor { get; init; }
    /// <summary>The pretraining context (llama3, yarn, longrope).</summary>
    public int? OriginalMaxPositions { get; init; }
    public double? LowFreqFactor { get; init; }
    public double? HighFreqFactor { get; init; }
    /// <summary>yarn and longrope: the multiplier on cos and sin; null lets the type's formula choose.</summary>
    public double? AttentionFactor { get; init; }
    public double? BetaFast { get; init; }
    public double? BetaSlow { get; init; }
    public double? Mscale { get; init; }
    public double? MscaleAllDim { get; init; }
    /// <summary>yarn: round the correction range to whole dimensions (transformers' default: true).</summary>
    public bool? Truncate { get; init; }
    /// <summary>longrope: per-frequency divisors for contexts up to, and past, <see cref="OriginalMaxPositions"/>.</summary>
    public IReadOnlyList<double>? ShortFactor { get; init; }
    public IReadOnlyList<double>? LongFactor { get; init; }

    public bool Equals(RopeParameters? other) =>
        other is not null && Type == other.Type && Theta.Equals(other.Theta) && Factor.Equals(other.Factor)
        && OriginalMaxPositions == other.OriginalMaxPositions && LowFreqFactor.Equals(other.LowFreqFactor)
        && HighFreqFactor.Equals(other.HighFreqFactor) && AttentionFactor.Equals(other.AttentionFactor)
        && BetaFast.Equals(other.BetaFast) && BetaSlow.Equals(other.BetaSlow) && Mscale.Equals(other.Mscale)
        && MscaleAllDim.Equals(other.MscaleAllDim) && Truncate == other.Truncate
        && SameList(ShortFactor, other.ShortFactor) && SameList(LongFactor, other.LongFactor);

    public override int GetHashCode() => HashCode.Combine(Type, Theta, Factor, OriginalMaxPositions, AttentionFactor, ShortFactor?.Count, LongFactor?.Count);

    private static bool SameList(IReadOnlyList<double>? a, IReadOnlyList<double>? b) =>
        a is null ? b is null : b is not null && a.SequenceEqual(b);
}
