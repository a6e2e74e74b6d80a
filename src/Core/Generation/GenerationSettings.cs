using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace TrainableTokens.Core.Generation;

/// <summary>How tokens are chosen and when generation stops. Temperature 0 is greedy (argmax); above 0, tokens are
/// sampled from softmax(logits / temperature), restricted to the <see cref="TopK"/> most likely (0: all) and then to
/// the smallest set whose probability reaches <see cref="TopP"/> (1: all), as transformers applies them.</summary>
public sealed record GenerationSettings
{
    public int MaxNewTokens { get; init; } = 64;
    public double Temperature { get; init; }
    public int TopK { get; init; }
    public double TopP { get; init; } = 1.0;
    /// <summary>The sampling seed; null draws one (reported in the result, so a run can be repeated).</summary>
    public long? Seed { get; init; }
    /// <summary>Ids that end generation (the eos token is kept in the ids, not in the text).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = new List<int>();
    /// <summary>Texts that end generation once the decoded output contains one; the text is cut before it.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = new List<string>();

    public bool Sampling => Temperature > 0;

    /// <summary>Throws <see cref="InvalidGenerationSettingsException"/> for the first few out-of-range values, naming each range.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (MaxNewTokens < 1) problems.Add($"MaxNewTokens is {MaxNewTokens}; give 1 or more");
        if (double.IsNaN(Temperature) || double.IsInfinity(Temperature) || Temperature < 0)
            problems.Add($"Temperature is {Temperature.ToString(CultureInfo.InvariantCulture)}; give 0 (greedy) or a finite value above 0");
        if (TopK < 0) problems.Add($"TopK is {TopK}; give 0 (no limit) or more");
        if (double.IsNaN(TopP) || TopP <= 0 || TopP > 1) problems.Add($"TopP is {TopP.ToString(CultureInfo.InvariantCulture)}; give a value above 0 and at most 1");
        if (StopStrings.Any(string.IsNullOrEmpty)) problems.Add("a stop string is empty; give non-empty texts");
        if (problems.Count > 0)
            throw new InvalidGenerationSettingsException("Generation settings out of range: " + string.Join("; ", problems) + ".", problems[0].Split(' ')[0]);
    }
}
