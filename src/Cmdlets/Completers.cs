using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;

namespace TrainableTokens.Cmdlets;

/// <summary>Tab completion for -Device: cpu, then cuda and cuda:N for each GPU the NVIDIA driver lists on this machine.</summary>
public sealed class DeviceCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        IReadOnlyList<(string Name, string Description)> devices;
        try { devices = Devices(); }
        catch (Exception e) when (e is not OutOfMemoryException) { devices = new[] { ("cpu", "The CPU") }; }
        return Completion.Values(devices, wordToComplete);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IReadOnlyList<(string, string)> Devices() => TrainableTokens.Core.Runtime.DeviceList.Names();
}

/// <summary>Tab completion for settings whose values the run-file schema lists (-Dtype, -LrSchedulerType, -EvalStrategy),
/// taken from the schema, so completion and validation never disagree.</summary>
public sealed class SchemaValueCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Values(Values(parameterName).Select(v => (v, v)).ToList(), wordToComplete);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IReadOnlyList<string> Values(string parameter) => parameter.ToLowerInvariant() switch
    {
        "dtype" => TrainableTokens.Core.Configuration.TrainingConfig.DtypeValues,
        "lrschedulertype" => TrainableTokens.Core.Configuration.TrainingConfig.LrSchedulerTypeValues,
        "evalstrategy" => TrainableTokens.Core.Configuration.TrainingConfig.EvalStrategyValues,
        "bias" => TrainableTokens.Core.Configuration.LoraConfig.BiasValues,
        _ => Array.Empty<string>(),
    };
}

/// <summary>Tab completion for -TargetModule: the module names of the model in -Model (-BaseModel); with -Method Lora
/// its projections (and all-linear), otherwise its embedding and LM head.</summary>
public sealed class TargetModuleCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var model = Completion.Bound(fakeBoundParameters, "BaseModel") ?? Completion.Bound(fakeBoundParameters, "Model");
        if (model is null) return Array.Empty<CompletionResult>();
        var lora = string.Equals(Completion.Bound(fakeBoundParameters, "Method"), "Lora", StringComparison.OrdinalIgnoreCase);
        try { return Completion.Values(Names(Completion.FullPath(model), lora), wordToComplete); }
        catch (Exception e) when (e is not OutOfMemoryException) { return Array.Empty<CompletionResult>(); }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IReadOnlyList<(string, string)> Names(string folder, bool lora) => lora
        ? TrainableTokens.Core.Tuners.Lora.LoraTargetNames.For(folder)
        : TrainableTokens.Core.Tuners.TrainableTokens.TargetModuleNames.For(folder);
}

/// <summary>Tab completion for -Model: Hugging Face model folders (config.json) under the current location, and the
/// folders on the way to them.</summary>
public sealed class ModelFolderCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Folders(wordToComplete, folder => File.Exists(Path.Combine(folder, "config.json")), "model");
}

/// <summary>Tab completion for -Adapter: adapter folders (adapter_config.json) under the current location, and the
/// folders on the way to them (a training output folder with its checkpoints, for example).</summary>
public sealed class AdapterFolderCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Folders(wordToComplete, folder => File.Exists(Path.Combine(folder, "adapter_config.json")), "adapter");
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
        var folder = Completion.FullPath(Completion.Bound(fakeBoundParameters, "OutputPath") ?? ".");
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

/// <summary>What the completers share: matching values, bound values, and folder walking.</summary>
internal static class Completion
{
    private const int SearchDepth = 3;
    private const int MaxFoldersVisited = 2000;

    public static IEnumerable<CompletionResult> Values(IReadOnlyList<(string Name, string Description)> values, string? word) =>
        values.Where(v => v.Name.StartsWith(Unquote(word), StringComparison.OrdinalIgnoreCase))
            .Select(v => new CompletionResult(v.Name, v.Name, CompletionResultType.ParameterValue, v.Description));

    public static string? Bound(IDictionary? bound, string name) =>
        bound is not null && bound.Contains(name) && bound[name] is { } value ? (value is PSObject ps ? ps.BaseObject : value).ToString() : null;

    /// <summary>A path as typed, made absolute against PowerShell's current location (not the process's).</summary>
    public static string FullPath(string path)
    {
        var here = Here() ?? Directory.GetCurrentDirectory();
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
            path = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.Length > 2 ? path[2..] : "");
        return Path.GetFullPath(path, here);
    }

    // A completer runs inside the pipeline that asked for it: the runspace's SessionStateProxy refuses calls then, a
    // nested command in the current runspace does not.
    private static string? Here()
    {
        if (Runspace.DefaultRunspace is null) return null;
        using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
        var location = ps.AddCommand("Microsoft.PowerShell.Management\\Get-Location").AddParameter("PSProvider", "FileSystem").Invoke<PathInfo>();
        return location.Count > 0 ? location[0].ProviderPath : null;
    }

    /// <summary>
    /// Folders that match the word typed and are what the parameter wants (<paramref name="wanted"/>), or lead to one
    /// within a few levels; wanted ones first. Results keep the form typed (relative stays relative).
    /// </summary>
    public static IEnumerable<CompletionResult> Folders(string? wordToComplete, Func<string, bool> wanted, string what)
    {
        var word = Unquote(wordToComplete);
        var cut = Math.Max(word.LastIndexOf('/'), Path.DirectorySeparatorChar == '\\' ? word.LastIndexOf('\\') : -1);
        var typedParent = cut >= 0 ? word[..(cut + 1)] : "";
        var prefix = word[(cut + 1)..];
        var parent = FullPath(typedParent.Length == 0 ? "." : typedParent);
        var results = new List<(bool Wanted, string Text)>();
        try
        {
            if (!Directory.Exists(parent)) return Array.Empty<CompletionResult>();
            var visited = 0;
            foreach (var folder in Directory.EnumerateDirectories(parent).OrderBy(f => f, StringComparer.Ordinal))
            {
                var name = Path.GetFileName(folder);
                if (!name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) continue;
                if (prefix.Length == 0 && name.StartsWith('.')) continue;
                var isWanted = wanted(folder);
                if (isWanted || Leads(folder, wanted, SearchDepth, ref visited))
                    results.Add((isWanted, (typedParent.Length == 0 && !Path.IsPathRooted(word) ? "./" : typedParent) + name + (isWanted ? "" : "/")));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An unreadable folder offers what was found before it.
        }
        return results.OrderByDescending(r => r.Wanted).Select(r => new CompletionResult(
            Quote(r.Text), r.Text, CompletionResultType.ProviderContainer, r.Wanted ? $"A {what} folder" : $"A folder with {what} folders in it"));
    }

    private static bool Leads(string folder, Func<string, bool> wanted, int depth, ref int visited)
    {
        if (depth == 0) return false;
        foreach (var child in Directory.EnumerateDirectories(folder))
        {
            if (++visited > MaxFoldersVisited) return false;
            if (Path.GetFileName(child).StartsWith('.')) continue;
            try
            {
                if (wanted(child) || Leads(child, wanted, depth - 1, ref visited)) return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return false;
    }

    private static string Unquote(string? word) => (word ?? "").Trim('\'', '"');

    private static string Quote(string text) => text.IndexOfAny(new[] { ' ', '\'', '"', '$', '`', '(', ')', '{', '}', ';', ',', '&', '@', '#' }) >= 0
        ? "'" + text.Replace("'", "''") + "'"
        : text;
}
