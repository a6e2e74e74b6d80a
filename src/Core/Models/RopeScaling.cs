namespace TrainableTokens.Core.Models;

/// <summary>Rotary-embedding frequency scaling from config.json's <c>rope_scaling</c> (or <c>rope_parameters</c>).</summary>
/// <param name="Type">"default", "linear" or "llama3".</param>
public sealed record RopeScaling(string Type, double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositions)
{
    public static readonly RopeScaling None = new("default", 1, 1, 4, 8192);
}
