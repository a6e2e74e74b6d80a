using System.Collections.Generic;

namespace TrainableTokens.Core.Jobs;

/// <summary>The known ways a Trainer + PEFT job goes wrong for trainable tokens, per engine, for the job's README.</summary>
internal static class JobTraps
{
    public static IEnumerable<string> For(JobEngine engine)
    {
        if (engine == JobEngine.Fsdp)
        {
            yield return "FSDP needs `fsdp_use_orig_params: true` for trainable tokens: the few trained rows live in the same module as the frozen embedding.";
            yield return "FSDP key prefix: a state dict taken from the wrapped model names tensors with `_fsdp_wrapped_module.` (and `_checkpoint_wrapped_module.` with activation checkpointing) inside their paths, which PEFT's loader does not recognise. Save with `fsdp_state_dict_type: FULL_STATE_DICT` (as this config does) through `trainer.save_model`; `Import-TokenTrainingJob` removes such segments if they are there.";
        }
        else
        {
            yield return "PEFT issue #2946: under DeepSpeed ZeRO-3 the `token_adapter` delta is partitioned across processes, and saving without gathering writes an empty or partial tensor. This config sets `stage3_gather_16bit_weights_on_model_save: true`; `Import-TokenTrainingJob` refuses an adapter whose delta is not [tokens, hidden size].";
        }
    }
}
