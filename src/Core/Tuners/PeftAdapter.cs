using System;
using System.IO;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Core.Tuners;

/// <summary>The PEFT methods an adapter folder here can hold, by adapter_config.json's peft_type.</summary>
public enum PeftMethod
{
    TrainableTokens,
    Lora,
}

/// <summary>
/// What every tuner's adapter folder shares: which method it is (peft_type) and the model it names
/// (base_model_name_or_path), read without parsing the rest, so callers can pick the tuner before anything else.
/// </summary>
public static class PeftAdapter
{
    private static readonly long MaxBytes = Math.Max(TrainableTokensAdapterConfig.MaxFileBytes, LoraConfig.MaxFileBytes);

    /// <summary>The method of the adapter in <paramref name="folder"/>; an unknown or missing peft_type names the field and the methods this module knows.</summary>
    public static PeftMethod MethodOf(string folder) => Read(folder).Method;

    /// <summary>adapter_config.json's base_model_name_or_path (null when absent), for either method.</summary>
    public static string? BaseModelOf(string folder) => Read(folder).BaseModel;

    private static (PeftMethod Method, string? BaseModel) Read(string folder)
    {
        var (json, path) = AdapterFolder.ReadConfigText(folder, MaxBytes);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject
                ?? throw new InvalidAdapterException($"'{path}' must hold a JSON object (PEFT's adapter config).", path);
        }
        catch (JsonException e)
        {
            throw new InvalidAdapterException($"'{path}' is not valid JSON: {e.Message} Re-save the adapter with PEFT's save_pretrained.", path, e);
        }
        var type = root["peft_type"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? (string)v! : null;
        var method = type switch
        {
            TrainableTokensAdapterConfig.PeftType => PeftMethod.TrainableTokens,
            LoraConfig.PeftType => PeftMethod.Lora,
            _ => throw new InvalidAdapterException(
                $"'{path}': peft_type is {(type is null ? "missing" : $"\"{type}\"")}; this module reads \"{TrainableTokensAdapterConfig.PeftType}\" and \"{LoraConfig.PeftType}\" adapters. " +
                "Point at an adapter of one of those methods.", path),
        };
        var baseModel = root["base_model_name_or_path"] is JsonValue b && b.GetValueKind() == JsonValueKind.String ? (string)b! : null;
        return (method, baseModel);
    }

    /// <summary>Whether adapter_config.json text says peft_type LORA; anything unreadable is left to the tuner's own reader to report.</summary>
    internal static bool DeclaresLora(string json)
    {
        try
        {
            return JsonNode.Parse(json) is JsonObject root && root["peft_type"] is JsonValue v && v.GetValueKind() == JsonValueKind.String && (string)v! == LoraConfig.PeftType;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The error for a LoRA adapter given where only Trainable Tokens adapters work.</summary>
    public static InvalidAdapterException OnlyTrainableTokens(string folder, string what, string fix) =>
        new($"'{Path.Combine(folder, TrainableTokensAdapterConfig.FileName)}': peft_type is \"{LoraConfig.PeftType}\", but {what} takes only \"{TrainableTokensAdapterConfig.PeftType}\" adapters. {fix}",
            Path.Combine(folder, TrainableTokensAdapterConfig.FileName));
}
