namespace TrainableTokens.Core.Jobs;

/// <summary>The distributed engine an exported job runs under: accelerate with PyTorch FSDP, or with DeepSpeed ZeRO-3.</summary>
public enum JobEngine
{
    Fsdp,
    DeepSpeed,
}
