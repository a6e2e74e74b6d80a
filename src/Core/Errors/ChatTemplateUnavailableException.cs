using System;

namespace TrainableTokens.Core;

/// <summary>Chat messages were given, but the tokenizer has no chat template or one this module cannot render.</summary>
public sealed class ChatTemplateUnavailableException : TrainableTokensException
{
    public ChatTemplateUnavailableException(string message, string? target, Exception? inner = null)
        : base("ChatTemplateUnavailable", ErrorKind.InvalidData, message, target, inner)
    {
    }
}
