namespace TrainableTokens.Core.Jobs;

/// <summary>
/// The names inside an exported training job folder (Export-TokenTrainingJob writes it, Import-TokenTrainingJob reads
/// it back): one place, so the writer, the reader and train.py agree.
/// </summary>
public static class JobLayout
{
    /// <summary>The job.json format this version writes and reads.</summary>
    public const int Format = 1;
    /// <summary>job.json's "kind", so that a stray JSON file is not taken for a job.</summary>
    public const string Kind = "trainabletokens-job";
    public const string JobFile = "job.json";
    public const string RunFileCopy = "run.yaml";
    public const string TrainScript = "train.py";
    public const string Requirements = "requirements.txt";
    public const string Readme = "README.md";
    public const string AccelerateFolder = "accelerate";
    public const string FsdpConfig = "accelerate/fsdp.yaml";
    public const string DeepSpeedConfig = "accelerate/deepspeed.yaml";
    public const string ZeroConfig = "accelerate/zero3.json";
    public const string TrainData = "data/train.jsonl";
    public const string EvalData = "data/eval.jsonl";
    public const string TrainOrder = "data/train-order.json";
    /// <summary>The engine's starting rows, when they are not PEFT's (untrained tokens start from the mean here).</summary>
    public const string InitialRows = "data/initial-rows.safetensors";
    public const string KubernetesJob = "kubernetes/job.yaml";
    /// <summary>Where train.py writes the adapter and its checkpoints unless told otherwise (relative to the job folder).</summary>
    public const string OutputFolder = "output";
    /// <summary>What train.py writes beside the adapter when it finishes: versions, config differences, losses.</summary>
    public const string ResultFile = "job-result.json";
}
