using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace TrainableTokens.Cmdlets;

/// <summary>Tab completion for -Device: cpu, cuda and cuda:0 to cuda:7 (the engine checks which exist).</summary>
public sealed class DeviceCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        new[] { "cpu", "cuda" }.Concat(Enumerable.Range(0, 8).Select(i => $"cuda:{i}"))
            .Where(d => d.StartsWith(wordToComplete ?? "", StringComparison.OrdinalIgnoreCase))
            .Select(d => new CompletionResult(d));
}

/// <summary>Tab completion for -Resume: 'latest', then the checkpoint-N folders of -OutputPath (or the current folder), newest first.</summary>
public sealed class ResumeCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var word = wordToComplete ?? "";
        var results = new List<CompletionResult>();
        if ("latest".StartsWith(word, StringComparison.OrdinalIgnoreCase)) results.Add(new CompletionResult("latest"));
        var folder = fakeBoundParameters is not null && fakeBoundParameters.Contains("OutputPath") ? fakeBoundParameters["OutputPath"]?.ToString() : null;
        folder = Path.GetFullPath(folder ?? ".");
        try
        {
            if (Directory.Exists(folder))
                results.AddRange(Directory.EnumerateDirectories(folder, "checkpoint-*")
                    .Select(d => (Path: d, Step: int.TryParse(Path.GetFileName(d)["checkpoint-".Length..], out var s) ? s : -1))
                    .Where(c => c.Step >= 0 && c.Path.Contains(word, StringComparison.OrdinalIgnoreCase))
                    .OrderByDescending(c => c.Step)
                    .Select(c => new CompletionResult(c.Path)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Completion offers what it can read; an unreadable folder offers 'latest' only.
        }
        return results;
    }
}
