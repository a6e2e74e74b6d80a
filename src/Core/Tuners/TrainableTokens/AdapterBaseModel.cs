using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Tuners;

namespace TrainableTokens.Core.Tuners.TrainableTokens;

/// <summary>
/// The model an adapter was trained on, from adapter_config.json's base_model_name_or_path, for commands whose -Model
/// is left out. Only a local model folder counts: a hub name such as meta-llama/Llama-3.2-1B cannot be fetched here.
/// </summary>
public static class AdapterBaseModel
{
    /// <summary>
    /// The one model folder every adapter names. A relative name is tried against the current directory first (as
    /// PEFT's from_pretrained reads it), then against the adapter's own folder (an adapter shipped beside its model).
    /// </summary>
    public static string Resolve(IReadOnlyList<string> adapterFolders, string currentDirectory)
    {
        if (adapterFolders.Count == 0) throw new ArgumentException("Give at least one adapter folder.", nameof(adapterFolders));
        string? found = null, foundFrom = null;
        foreach (var adapter in adapterFolders)
        {
            var configFile = Path.Combine(adapter, TrainableTokensAdapterConfig.FileName);
            var name = PeftAdapter.BaseModelOf(adapter); // either tuner's adapter_config.json
            if (string.IsNullOrWhiteSpace(name))
                throw new BaseModelNotFoundException(
                    $"'{configFile}' has no base_model_name_or_path, so the model to use is unknown: give the model folder with -Model.", configFile);
            var tried = Path.IsPathRooted(name)
                ? new[] { Path.GetFullPath(name) }
                : new[] { Path.GetFullPath(name, currentDirectory), Path.GetFullPath(name, Path.GetFullPath(adapter)) }.Distinct().ToArray();
            var folder = tried.FirstOrDefault(IsModelFolder)
                ?? throw new BaseModelNotFoundException(
                    $"base_model_name_or_path '{name}' in '{configFile}' is not a local model folder (looked for config.json in {string.Join(" and ", tried)}): give the model folder with -Model.", configFile);
            if (found is not null && !PathsEqual(found, folder))
                throw new BaseModelNotFoundException(
                    $"The adapters name different base models: '{foundFrom}' names '{found}', '{adapter}' names '{folder}'. Give the model folder with -Model.", adapter);
            found ??= folder;
            foundFrom ??= adapter;
        }
        return found!;
    }

    /// <summary><paramref name="model"/> when given (relative to <paramref name="baseDirectory"/>); else the one base
    /// model <paramref name="adapterFolder"/> names, as <see cref="Resolve(IReadOnlyList{string}, string)"/>.</summary>
    public static string Resolve(string adapterFolder, string? model, string baseDirectory) =>
        model is not null ? Path.GetFullPath(model, baseDirectory) : Resolve(new[] { adapterFolder }, baseDirectory);

    private static bool IsModelFolder(string folder) => Directory.Exists(folder) && File.Exists(Path.Combine(folder, "config.json"));

    private static bool PathsEqual(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(a), Path.TrimEndingDirectorySeparator(b),
            OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
}
