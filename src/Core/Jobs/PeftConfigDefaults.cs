using System;
using System.Collections.Generic;
using System.Text.Json.Nodes;

namespace TrainableTokens.Core.Jobs;

/// <summary>
/// The values PEFT writes into adapter_config.json for settings left unset, for keys this module's own adapter_config.json
/// leaves out (LoRA variants and integrations it does not implement: DoRA, QALoRA, Megatron, EVA, ...). A key that one side
/// lacks and the other holds at this value says the same thing, so it is no difference; any other value is one. Read from
/// PEFT's config dataclasses (peft/config.py, peft/tuners/lora/config.py); runtime_config is never saved (LoraConfig.to_dict).
/// </summary>
public static class PeftConfigDefaults
{
    private static readonly Dictionary<string, string> Values = new(StringComparer.Ordinal)
    {
        ["auto_mapping"] = "null",
        ["revision"] = "null",
        ["fan_in_fan_out"] = "false",
        ["megatron_config"] = "null",
        ["megatron_core"] = "\"megatron.core\"",
        ["loftq_config"] = "{}",
        ["eva_config"] = "null",
        ["corda_config"] = "null",
        ["lora_ga_config"] = "null",
        ["use_dora"] = "false",
        ["velora_config"] = "null",
        ["alora_invocation_tokens"] = "null",
        ["use_qalora"] = "false",
        ["qalora_group_size"] = "16",
        ["monteclora_config"] = "null",
        ["layer_replication"] = "null",
        ["lora_bias"] = "false",
        ["target_parameters"] = "null",
        ["use_bdlora"] = "null",
        ["arrow_config"] = "null",
        ["kasa_config"] = "null",
    };

    /// <summary>PEFT's unset value for <paramref name="key"/>; false when PEFT has no such key or this module always writes it.</summary>
    public static bool TryGet(string key, out JsonNode? value)
    {
        value = Values.TryGetValue(key, out var json) ? JsonNode.Parse(json) : null;
        return json is not null;
    }
}
