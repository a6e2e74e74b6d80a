using System;
using System.Collections.Generic;
using System.Linq;

namespace TrainableTokens.Core.Jobs;

/// <summary>One tensor renamed on import: its name in the job's file, its PEFT name, and why.</summary>
public sealed record TensorRepair(string From, string To, string Reason)
{
    public override string ToString() => $"'{From}' -> '{To}' ({Reason})";
}

/// <summary>
/// Gives tensors saved from a wrapped model back their PEFT names. FSDP wraps modules in <c>_fsdp_wrapped_module</c>,
/// activation checkpointing in <c>_checkpoint_wrapped_module</c>, torch.compile in <c>_orig_mod</c>, and DDP or DeepSpeed
/// the whole model in <c>module</c>; a state dict taken from the wrapper rather than the unwrapped model carries those
/// segments in every key, and PEFT's loader (and this module's) then finds none of its tensors.
/// </summary>
public static class TensorNameRepair
{
    private static readonly string[] WrapperSegments = ["_fsdp_wrapped_module", "_checkpoint_wrapped_module", "_orig_mod"];
    private const string LeadingWrapper = "module";

    /// <summary>The PEFT name of <paramref name="name"/> and what was removed, or null when it needs no repair.</summary>
    public static TensorRepair? Repair(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var parts = name.Split('.').ToList();
        var removed = new List<string>();
        // Only a leading "module" is a wrapper: a model may have a real submodule of that name further in.
        while (parts.Count > 1 && parts[0] == LeadingWrapper)
        {
            parts.RemoveAt(0);
            removed.Add("leading 'module.' (DDP/DeepSpeed wrapper)");
        }
        foreach (var segment in WrapperSegments)
        {
            var count = parts.RemoveAll(p => p == segment);
            if (count > 0) removed.Add($"'{segment}.' x{count}");
        }
        if (removed.Count == 0) return null;
        return new TensorRepair(name, string.Join('.', parts), "removed " + string.Join(", ", removed.Distinct()));
    }

    /// <summary>The repairs for every name that needs one; two names that become one (or become an existing name) are an
    /// <see cref="InvalidJobException"/> naming both, since either could be the adapter's.</summary>
    public static IReadOnlyList<TensorRepair> Plan(IReadOnlyList<string> names, string file)
    {
        var repairs = new List<TensorRepair>();
        var owner = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var repair = Repair(name);
            var target = repair?.To ?? name;
            if (owner.TryGetValue(target, out var first))
                throw new InvalidJobException(InvalidJobException.AmbiguousTensorName,
                    $"'{file}': tensors '{first}' and '{name}' both name '{target}' once FSDP/compile wrapper segments are removed, so which is the adapter's is unknown. " +
                    "Save the adapter again from the unwrapped model (trainer.save_model, or accelerator.unwrap_model(model).save_pretrained).", file);
            owner[target] = name;
            if (repair is not null) repairs.Add(repair);
        }
        return repairs;
    }
}
