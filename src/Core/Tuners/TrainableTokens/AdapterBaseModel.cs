using System.IO;

namespace TrainableTokens.Core.Tuners.TrainableTokens;

/// <summary>The model an adapter belongs to, when a command is not given one: adapter_config.json's base_model_name_or_path,
/// if that is a local model folder (a hub id such as meta-llama/Llama-3.2-1B is not fetched).</summary>
public static class AdapterBaseModel
{
    /// <summary><paramref name="model"/> when given; else the adapter's base model folder, with a relative path taken from
    /// <paramref name="baseDirectory"/>. Throws <see cref="BaseModelNotFoundException"/> when there is none to use.</summary>
    public static string Resolve(string adapterFolder, string? model, string baseDirectory)
    {
        if (model is not null) return Path.GetFullPath(model, baseDirectory);
        var config = AdapterFolder.ReadConfig(adapterFolder);
        var named = config.BaseModelNameOrPath;
        if (string.IsNullOrWhiteSpace(named))
            throw new BaseModelNotFoundException(
                $"No -Model was given, and '{Path.Combine(adapterFolder, TrainableTokensAdapterConfig.FileName)}' has no base_model_name_or_path to take it from. Give -Model (the model folder the adapter was trained on).", adapterFolder);
        var folder = Path.GetFullPath(named, baseDirectory);
        if (!File.Exists(Path.Combine(folder, Models.ModelConfigReader.FileName)))
            throw new BaseModelNotFoundException(
                $"No -Model was given, and the adapter's base_model_name_or_path '{named}' is not a local model folder (no {Models.ModelConfigReader.FileName} at '{folder}'). " +
                "Give -Model: the folder of that model on this machine (models are never downloaded).", named);
        return folder;
    }
}
