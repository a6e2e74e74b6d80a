using System.Collections.Generic;

namespace TrainableTokens.Core.Scoring;

/// <summary>How one acceptance check came out; Skipped when a check it depends on failed or its input was not given.</summary>
public enum AdapterCheckOutcome
{
    Passed,
    Failed,
    Skipped,
}

/// <summary>One guarantee Test-TokenAdapter checked: its name, the outcome and what was found.</summary>
public sealed record AdapterCheck(string Name, AdapterCheckOutcome Outcome, string Detail)
{
    public bool Passed => Outcome == AdapterCheckOutcome.Passed;
    /// <summary>The adapter (or merged model) folder checked.</summary>
    public string? Adapter { get; init; }
    /// <summary>The base model folder checked against.</summary>
    public string? Model { get; init; }
    /// <summary>For OnlyListedRowsChange: every row id that differs from the base model after the merge.</summary>
    public IReadOnlyList<long>? ChangedRows { get; init; }
    /// <summary>For the eval-loss checks: the eval loss with the adapter, and without it (or the limit).</summary>
    public double? Value { get; init; }
    public double? Reference { get; init; }

    public override string ToString() => $"{Name}: {Outcome} ({Detail})";
}
