using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace TrainableTokens.Core.Tuners;

/// <summary>
/// PEFT's module-name rules, in one place for every tuner (target_modules of Trainable Tokens and LoRA, exclude_modules,
/// modules_to_save, preflight): a list of names matches a module whose path equals a name or ends with "." + name; a
/// string is a regular expression that must match the whole path (peft/tuners/tuners_utils.py,
/// check_target_module_exists and match_target_against_key).
/// </summary>
public static class ModuleMatch
{
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Whether <paramref name="path"/> is one of <paramref name="names"/>, or ends with "." + one of them.</summary>
    public static bool ByName(IEnumerable<string> names, string path) =>
        names.Any(n => path == n || path.EndsWith("." + n, StringComparison.Ordinal));

    /// <summary>Python's re.fullmatch, with a timeout so a pathological user pattern cannot hang.</summary>
    public static bool FullMatch(string pattern, string path) =>
        Regex.IsMatch(path, $"^(?:{pattern})$", RegexOptions.CultureInvariant, RegexTimeout);

    /// <summary>A list by name, otherwise a regex by full match.</summary>
    public static bool Matches(IReadOnlyList<string>? names, string? pattern, string path) =>
        names is not null ? ByName(names, path) : FullMatch(pattern!, path);

    /// <summary>The paths among <paramref name="paths"/> that the names or pattern select, in their order.</summary>
    public static IReadOnlyList<string> Select(IReadOnlyList<string>? names, string? pattern, IEnumerable<string> paths) =>
        paths.Where(p => Matches(names, pattern, p)).ToList();

    /// <summary>
    /// Whether a modules_to_save name covers <paramref name="path"/>, the module itself or one inside it: LoRA never
    /// targets such a module (PEFT's <c>(^|.*\.){name}($|\..*)</c> in check_target_module_exists).
    /// </summary>
    public static bool InSavedModule(IEnumerable<string> modulesToSave, string path) =>
        modulesToSave.Any(m => Regex.IsMatch(path, $@"^(?:.*\.)?(?:{Regex.Escape(m)})(?:$|\..*)", RegexOptions.CultureInvariant, RegexTimeout));

    /// <summary>Whether a modules_to_save name selects <paramref name="path"/> for a full trainable copy: PEFT's
    /// _set_trainable takes every module whose name ends with it (peft/utils/other.py).</summary>
    public static bool SavedModule(IEnumerable<string> modulesToSave, string path) =>
        modulesToSave.Any(m => path.EndsWith(m, StringComparison.Ordinal));
}
