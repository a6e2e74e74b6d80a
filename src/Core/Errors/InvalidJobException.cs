namespace TrainableTokens.Core;

/// <summary>
/// A training job folder (Export-TokenTrainingJob's) or what its run left behind cannot be imported: job.json is missing
/// or malformed, the adapter is missing or pickle-only, its tensors were saved partitioned, or its config is not the
/// one the job asked for. <see cref="TrainableTokensException.ErrorId"/> says which; the message names the file, the
/// field or tensor, and the fix.
/// </summary>
public sealed class InvalidJobException : TrainableTokensException
{
    /// <summary>job.json is missing, unreadable, or a field in it is missing or of the wrong type.</summary>
    public const string InvalidJob = "InvalidJob";
    /// <summary>No adapter where the job's output should be (no folder, or no adapter_config.json in it).</summary>
    public const string AdapterNotFound = "JobAdapterNotFound";
    /// <summary>The adapter was saved only as a pickle file (adapter_model.bin / pytorch_model.bin).</summary>
    public const string AdapterNotSafetensors = "JobAdapterNotSafetensors";
    /// <summary>A trained tensor is empty or misshaped, as DeepSpeed ZeRO-3 saves parameters it did not gather.</summary>
    public const string PartitionedTensor = "PartitionedAdapterTensor";
    /// <summary>Two tensor names become one once wrapper segments are removed.</summary>
    public const string AmbiguousTensorName = "AmbiguousTensorName";
    /// <summary>The adapter's adapter_config.json differs from the one job.json asked for.</summary>
    public const string ConfigDifference = "AdapterConfigDifference";

    public InvalidJobException(string errorId, string message, string? target, System.Exception? inner = null)
        : base(errorId, errorId == AdapterNotFound ? ErrorKind.ObjectNotFound : ErrorKind.InvalidData, message, target, inner)
    {
    }
}
