using System;
using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Core;

/// <summary>
/// A config (a run file, an adapter_config.json) has errors. <see cref="Findings"/> holds them (a long list ends with a
/// finding that counts the rest); the message lists the first few with file, line and column, each saying how to fix it.
/// </summary>
public sealed class InvalidConfigException : TrainableTokensException
{
    public InvalidConfigException(IReadOnlyList<ConfigFinding> findings, string? source)
        : base("InvalidConfig", ErrorKind.InvalidData, Describe(findings, source), source)
    {
        Findings = findings;
    }

    public IReadOnlyList<ConfigFinding> Findings { get; }

    /// <summary>Errors the message lists one by one; <see cref="Findings"/> holds them all.</summary>
    public const int MaxListedErrors = 10;

    private static string Describe(IReadOnlyList<ConfigFinding> findings, string? source)
    {
        var errors = findings.Where(f => f.Severity == ConfigSeverity.Error).ToList();
        var what = source is null ? "The config" : $"'{source}'";
        var count = errors.Count == 1 ? "an error" : $"{errors.Count} errors";
        var listed = errors.Take(MaxListedErrors).Select(e => e.ToString()).ToList();
        if (errors.Count > MaxListedErrors) listed.Add($"... and {errors.Count - MaxListedErrors} more (see the exception's Findings).");
        return $"{what} has {count}:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", listed);
    }
}
