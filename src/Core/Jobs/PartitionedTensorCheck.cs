using System;
using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Tuners;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Core.Jobs;

/// <summary>
/// Refuses trained tensors that DeepSpeed ZeRO-3 saved partitioned: without gathering, each rank holds only its slice
/// of a parameter and a state dict taken from it has an empty tensor (shape [0]) or a flat slice in its place; with
/// trainable tokens PEFT's save may also lose the token_adapter key altogether (PEFT issue #2946). Such a file would
/// otherwise fail later with a bare shape error, or, worse, load a slice as if it were the rows.
/// </summary>
public static class PartitionedTensorCheck
{
    public const string Fix =
        "Train again with stage3_gather_16bit_weights_on_model_save: true in the DeepSpeed config (the zero3.json Export-TokenTrainingJob writes has it), " +
        "so the trainer gathers every parameter before saving, or gather them yourself (deepspeed.zero.GatheredParameters) before save_pretrained; see PEFT issue #2946.";

    /// <summary>Checks every trained tensor of <paramref name="weights"/>, by its repaired name (<paramref name="nameOf"/>).</summary>
    public static void Ensure(SafetensorsFile weights, Func<string, string> nameOf, PeftMethod method, IReadOnlyList<long>? tokenIds,
        IReadOnlyList<KeyValuePair<string, IReadOnlyList<long>>>? tokenIdsByModule, int hiddenSize)
    {
        var sawTokenRows = false;
        foreach (var info in weights.Tensors)
        {
            var name = nameOf(info.Name);
            var rowsOf = AdapterFolder.ModulePathOf(name);
            var isPair = name.Contains(".lora_A.", StringComparison.Ordinal) || name.Contains(".lora_B.", StringComparison.Ordinal);
            if (rowsOf is null && !isPair) continue;
            sawTokenRows |= rowsOf is not null;
            if (info.ElementCount == 0 || info.Shape.Length != 2)
                throw Partitioned(weights.Path, info, name,
                    info.ElementCount == 0 ? "empty" : $"{info.Shape.Length}-dimensional, where trained {(isPair ? "LoRA matrices" : "rows")} are 2-dimensional");
            if (rowsOf is null) continue;
            var module = method == PeftMethod.Lora && rowsOf.EndsWith(".token_adapter", StringComparison.Ordinal) ? rowsOf[..^".token_adapter".Length] : rowsOf;
            // A row count other than the config's is a slice; another hidden size is another model, which the compatibility check reports.
            if (CountFor(module, tokenIds, tokenIdsByModule) is { } k && info.Shape[0] != k)
                throw Partitioned(weights.Path, info, name,
                    $"misshaped: {k} token ids and the model's hidden size {hiddenSize} need [{k}, {hiddenSize}]");
        }
        var wantsRows = tokenIds is { Count: > 0 } || tokenIdsByModule is { Count: > 0 };
        if (method == PeftMethod.Lora && wantsRows && !sawTokenRows)
            throw new InvalidJobException(InvalidJobException.PartitionedTensor,
                $"'{weights.Path}' has no {LoraAdapterFolder.TokensSuffix.TrimStart('.')} tensor, though the adapter's trainable_token_indices asks for token rows: " +
                "under DeepSpeed ZeRO-3 PEFT cannot find the token adapter's parameter when it saves. " + Fix, weights.Path);
    }

    private static int? CountFor(string module, IReadOnlyList<long>? tokenIds, IReadOnlyList<KeyValuePair<string, IReadOnlyList<long>>>? byModule)
    {
        if (byModule is not null)
            foreach (var (key, ids) in byModule)
                if (module == key || module.EndsWith("." + key, StringComparison.Ordinal)) return ids.Count;
        return tokenIds?.Count;
    }

    private static InvalidJobException Partitioned(string file, SafetensorsTensorInfo info, string name, string what) =>
        new(InvalidJobException.PartitionedTensor,
            $"'{file}': tensor '{name}' is [{string.Join(", ", info.Shape)}] ({what}): DeepSpeed ZeRO-3 saved its partition of the parameter instead of the whole tensor. " + Fix,
            file);
}
