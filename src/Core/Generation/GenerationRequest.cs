using System.Collections.Generic;
using TrainableTokens.Core.Training.Data;

namespace TrainableTokens.Core.Generation;

/// <summary>What <see cref="GenerationRun"/> should do. Exactly one of <see cref="Prompt"/>, <see cref="InputIds"/>
/// and <see cref="Messages"/> is given.</summary>
public sealed record GenerationRequest(string ModelFolder)
{
    /// <summary>Text, encoded with the tokenizer's special tokens (a bos where the model's tokenizer adds one).</summary>
    public string? Prompt { get; init; }
    public IReadOnlyList<long>? InputIds { get; init; }
    /// <summary>A conversation, rendered with the tokenizer's chat template and the assistant turn's opening.</summary>
    public IReadOnlyList<ChatMessage>? Messages { get; init; }
    /// <summary>Trainable-tokens adapter folders (PEFT format), all applied; their token ids must not overlap.</summary>
    public IReadOnlyList<string> AdapterFolders { get; init; } = new List<string>();
    /// <summary>Settings; empty <see cref="GenerationSettings.EosTokenIds"/> means the model's own (see <see cref="EosTokenIds"/>).</summary>
    public GenerationSettings Settings { get; init; } = new();
    public string Dtype { get; init; } = "float32";
    public string Device { get; init; } = "cpu";
    public bool UseCache { get; init; } = true;
}
