using System.Collections.Generic;

namespace TrainableTokens.Core.Jobs;

/// <summary>The known ways a Trainer + PEFT job goes wrong for trainable tokens, per engine, for the job's README.</summary>
internal static class JobTraps
{
    public static IEnumerable<string> For(JobEngine engine)
    {
        if (engine == JobEngine.Fsdp)
        {
            yield return "FSDP needs `fsdp_use_orig_params: true` for trainable tokens: the few trained rows sit in the same FSDP unit as the frozen embedding. One unit holds one dtype, so in a bfloat16 run accelerate keeps the trained rows in float32 only with `mixed_precision: bf16` (this config sets it for Trainable Tokens; LoRA's A and B then stay in the model's dtype).";
            yield return "FSDP key prefix: the wrapped model names its modules with `_fsdp_wrapped_module.` (and `_checkpoint_wrapped_module.` with activation checkpointing, `_orig_mod.` with torch.compile). PEFT strips only a leading `_fsdp_wrapped_module.` when it saves, so a state dict taken from a nested unit, or saved as SHARDED_STATE_DICT, keeps such segments, and PEFT's loader then matches none of the keys and silently loads nothing. This config saves `FULL_STATE_DICT` through `trainer.save_model`; `Import-TokenTrainingJob` removes such segments if they are there and says so.";
        }
        else
        {
            yield return "PEFT issue #2946: under DeepSpeed ZeRO-3, saving a LoRA adapter with trainable_token_indices (a checkpoint, or `trainer.save_model`) fails with `KeyError: 'token_adapter.trainable_tokens_delta.default'`: the consolidated 16-bit state dict PEFT is handed lacks the partitioned delta. train.py gathers the trainable parameters on every process and saves them itself instead, and fails the run if a saved tensor is empty or has the wrong number of rows. `Import-TokenTrainingJob` refuses an adapter whose tensors ZeRO-3 saved partitioned (empty or misshaped).";
            yield return "ZeRO-3 gathers parameters in one dtype, so the adapter is created in the model's dtype and train.py turns on DeepSpeed's bf16/fp16 mode, whose float32 master copies keep the updates in float32. zero3.json leaves `bf16`/`fp16` on \"auto\" so that Trainer fills them.";
        }
    }
}
