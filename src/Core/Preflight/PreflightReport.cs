using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Core.Preflight;

/// <summary>
/// Everything the preflight found, in file order, which checks it could not run and why, and, when nothing stands in
/// the way, the run prepared for the trainer.
/// </summary>
public sealed record PreflightReport(IReadOnlyList<ConfigFinding> Findings, IReadOnlyList<string> Skipped)
{
    public bool HasErrors => Findings.Any(f => f.Severity == ConfigSeverity.Error);

    /// <summary>The checked run, ready to train; null when there are errors or a setting training needs is missing.</summary>
    public PreparedRun? Run { get; init; }
}
