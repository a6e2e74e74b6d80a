using System;

namespace TrainableTokens.Core;

/// <summary>
/// A tokenizer folder is missing tokenizer.json, or its tokenizer.json / tokenizer_config.json cannot be used (damaged
/// JSON, an unsupported post-processor or chat template, a token that cannot be added). The message names the file
/// and the fix; <see cref="TrainableTokensException.Target"/> is the file's path.
/// </summary>
public sealed class InvalidTokenizerException : TrainableTokensException
{
    public InvalidTokenizerException(string message, string? target, Exception? inner = null)
        : base("InvalidTokenizer", ErrorKind.InvalidData, message, target, inner)
    {
    }
}
