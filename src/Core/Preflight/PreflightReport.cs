using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Core.Preflight;

/// <summary>Everything the preflight found, in file order, and which checks it could not run and why.</summary>
public sealed record PreflightReport(IReadOnlyList<ConfigFinding> Findings, IReadOnlyList<string> Skipped)
{
    public bool HasErrors => Findings.Any(f => f.Severity == ConfigSeverity.Error);
}
