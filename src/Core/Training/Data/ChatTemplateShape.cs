namespace TrainableTokens.Core.Training.Data;

/// <summary>The chat template shapes <see cref="ChatTemplate"/> renders itself.</summary>
public enum ChatTemplateShape
{
    /// <summary>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n per message (Qwen2 and many fine-tunes).</summary>
    ChatMl,
    /// <summary>ChatML with Qwen3's reasoning blocks after the last user turn.</summary>
    Qwen3,
    /// <summary>Llama 3's &lt;|start_header_id|&gt;role&lt;|end_header_id|&gt; headers and &lt;|eot_id|&gt;.</summary>
    Llama3,
    /// <summary>Gemma's &lt;start_of_turn&gt;user|model turns.</summary>
    Gemma,
}
