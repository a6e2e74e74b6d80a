using System;
using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Core.Tuners;

/// <summary>
/// Adapter folders of any method loaded onto one model and active together, for scoring and generation: each folder
/// goes to its tuner by peft_type (Trainable Tokens rows on the embedding modules, LoRA pairs on the projections).
/// Disabling gives the base model's outputs exactly; disposing puts the base modules back.
/// </summary>
public sealed class AdapterStack : IDisposable
{
    // One Trainable Tokens tuner for every folder: a second one would wrap the embedding again and hide the first's
    // rows, so Trainable Tokens folders load into the rows the LoRA tuner keeps for trainable_token_indices.
    private readonly LoraModel _lora;
    private readonly string[] _tokenNames;
    private readonly string[] _loraNames;

    private AdapterStack(LoraModel lora, string[] tokenNames, string[] loraNames)
    {
        _lora = lora;
        _tokenNames = tokenNames;
        _loraNames = loraNames;
    }

    /// <summary>The names given to the loaded adapters (adapter0, adapter1, ... in folder order).</summary>
    public IReadOnlyList<string> Names => _tokenNames.Concat(_loraNames).ToList();

    /// <summary>Loads each of <paramref name="folders"/> as adapter0, adapter1, ... by its peft_type and activates them all.</summary>
    public static AdapterStack Load(CausalLanguageModel model, IReadOnlyList<string> folders)
    {
        var lora = new LoraModel(model);
        try
        {
            var tokenNames = new List<string>();
            var loraNames = new List<string>();
            for (var i = 0; i < folders.Count; i++)
            {
                var name = $"adapter{i}";
                if (PeftAdapter.MethodOf(folders[i]) == PeftMethod.Lora)
                {
                    LoraAdapterFolder.Load(lora, folders[i], name);
                    loraNames.Add(name);
                }
                else
                {
                    AdapterFolder.Load(lora.Tokens, folders[i], name);
                    tokenNames.Add(name);
                }
            }
            var stack = new AdapterStack(lora, tokenNames.ToArray(), loraNames.ToArray());
            stack.Enable();
            return stack;
        }
        catch
        {
            lora.Dispose();
            throw;
        }
    }

    /// <summary>The base model's behaviour, exactly.</summary>
    public void Disable() => _lora.DisableAdapters();

    /// <summary>Every loaded adapter active again.</summary>
    public void Enable()
    {
        if (_loraNames.Length > 0) _lora.SetActiveAdapters(_loraNames);
        // Setting LoRA's adapters activates only their own token rows; the Trainable Tokens folders join them.
        var rows = _tokenNames.Concat(_lora.Tokens.ActiveAdapters).Distinct().ToArray();
        if (rows.Length > 0) _lora.Tokens.SetActiveAdapters(rows);
    }

    public void Dispose() => _lora.Dispose();
}
