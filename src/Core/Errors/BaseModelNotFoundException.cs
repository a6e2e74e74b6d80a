namespace TrainableTokens.Core;

/// <summary>No -Model was given and the adapter's base_model_name_or_path does not name a local model folder (or the
/// adapters name different ones).</summary>
public sealed class BaseModelNotFoundException : TrainableTokensException
{
    public BaseModelNotFoundException(string message, string? target)
        : base("BaseModelNotFound", ErrorKind.ObjectNotFound, message, target)
    {
    }
}
