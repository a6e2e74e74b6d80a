namespace TrainableTokens.Fuzz;

/// <summary>How an input that passed ended: accepted, or refused with a user-facing error (its message).</summary>
public sealed record FuzzOutcome(bool Accepted, string? Message)
{
    public static readonly FuzzOutcome Accept = new(true, null);
}
