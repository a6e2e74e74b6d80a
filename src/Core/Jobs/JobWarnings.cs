using System.Collections.Generic;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Training;

namespace TrainableTokens.Core.Jobs;

/// <summary>
/// The run settings an exported job cannot reproduce exactly, each named. What the job does reproduce (the tokenised
/// data, the eval split, the order of examples in every epoch, the schedule, accumulation, clipping, AdamW, evaluation
/// and checkpoint steps) is not listed: the export hands those over resolved.
/// </summary>
internal static class JobWarnings
{
    public static List<JobWarning> For(PreparedRun run, RunConfig original, EvaluationPlan eval, JobEngine engine)
    {
        var warnings = new List<JobWarning>();
        if (original.Training?.ResumeFromCheckpoint is { } resume)
            warnings.Add(new JobWarning("training.resume_from_checkpoint",
                $"'{resume}' is not carried over: the engine's checkpoints are not Trainer checkpoints. The job starts from the beginning; " +
                "resume the job's own checkpoints with 'train.py --resume'."));
        if (run.LoraAdapter is { } lora)
        {
            var which = lora.InitLoraWeights switch
            {
                Tuners.Lora.LoraInit.Random => "A and B are",
                _ => "A is",
            };
            warnings.Add(new JobWarning("lora.init_lora_weights",
                $"{which} drawn by PyTorch's generator in the job, not the engine's: the same distribution and seed setting, other starting values, " +
                "so the job's adapter is not bit-identical to the engine's."));
            if (lora.LoraDropout > 0)
                warnings.Add(new JobWarning("lora.lora_dropout",
                    $"Dropout {lora.LoraDropout} draws its masks from PyTorch's generator in the job, not the engine's: the same rate, other masks."));
        }
        else if (run.Adapter is { InitWeights: false })
            warnings.Add(new JobWarning("trainable_tokens.init_weights",
                "init_weights false starts the rows from standard-normal values drawn by PyTorch's generator in the job, not the engine's: other starting values."));
        if (run.LoraAdapter is not null && run.Training.Dtype != "float32" && engine == JobEngine.Fsdp)
            warnings.Add(new JobWarning("training.dtype",
                $"Under FSDP the LoRA matrices train in {run.Training.Dtype}, the model's dtype (one FSDP unit holds one dtype, and float32 units " +
                "would double the sharded weights' memory); the engine keeps them in float32. Use -Engine DeepSpeed (float32 master copies) for float32 updates."));
        if (run.LoraAdapter is null && run.Training.Dtype == "float16" && engine == JobEngine.Fsdp)
            warnings.Add(new JobWarning("training.dtype",
                "float16 under FSDP keeps the rows in float32 through accelerate's fp16 mixed precision, which scales the loss and skips a step " +
                "whose gradients overflow; the engine neither scales nor skips. Use bfloat16 for the same steps."));
        if (eval.Enabled)
            warnings.Add(new JobWarning("training.eval_strategy",
                "Trainer's eval_loss is the mean of each evaluation batch's loss, weighted by examples; the engine's is the mean over every scored token. " +
                "They differ when batches hold different numbers of scored tokens" +
                (eval.Metric is not null ? ", and so can the best checkpoint and early stopping, which rank by it." : ".")));
        return warnings;
    }
}
