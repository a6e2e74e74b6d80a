using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Tuners;

namespace TrainableTokens.Core.Preflight;

/// <summary>
/// PEFT's rule for which modules <c>target_modules</c> selects: a list matches a module whose path equals a name or
/// ends with "." + name; a string is a regular expression that must match the whole path; null means the model's
/// input embedding.
/// </summary>
public static class TargetModuleMatcher
{
    /// <summary>The paths among <paramref name="modulePaths"/> that <paramref name="targets"/> selects.</summary>
    /// <exception cref="ArgumentException">The string form is not a valid regular expression.</exception>
    public static IReadOnlyList<string> Select(StringOrList? targets, IEnumerable<string> modulePaths, string inputEmbeddingPath)
    {
        if (targets is null) return modulePaths.Where(p => p == inputEmbeddingPath).ToList();
        // The rule every tuner shares; an invalid pattern throws ArgumentException before any path is tried.
        if (targets.Items is null) _ = new Regex(targets.Text!);
        return ModuleMatch.Select(targets.Items, targets.Text, modulePaths);
    }

    /// <summary>
    /// Every module path of a model, as PyTorch's named_modules() lists them: each weight's parent and all of its
    /// ancestors ("model.layers.0.mlp.up_proj.weight" gives "model", "model.layers", ... "model.layers.0.mlp.up_proj").
    /// </summary>
    public static IReadOnlyList<string> ModulePaths(IEnumerable<string> weightNames, IEnumerable<string> extraModules)
    {
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in weightNames.Concat(extraModules.Select(m => m + ".weight")))
        {
            var end = name.LastIndexOf('.');
            while (end > 0)
            {
                paths.Add(name.Substring(0, end));
                end = name.LastIndexOf('.', end - 1);
            }
        }
        return paths.ToList();
    }
}
