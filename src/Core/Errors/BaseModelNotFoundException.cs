namespace TrainableTokens.Core;

/// <summary>No model was given, and the adapter's base_model_name_or_path is not a local model folder to fall back on.</summary>
public sealed class BaseModelNotFoundException : TrainableTokensException
{
    public BaseModelNotFoundException(string message, string? target)
        : base("BaseModelNotFound", ErrorKind.ObjectNotFound, message, target)
    {
    }
}
