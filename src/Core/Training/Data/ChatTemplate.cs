using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using TrainableTokens.Core.Tokenization;

namespace TrainableTokens.Core.Training.Data;

/// <summary>
/// Renders conversations as a tokenizer's Jinja chat template does (<c>apply_chat_template(messages,
/// add_generation_prompt=False, tokenize=False)</c>), for a few common template shapes recognised from the template's
/// text: plain ChatML, Qwen3's ChatML with reasoning, Llama 3's header format and Gemma's turn format. There is no
/// Jinja engine here (no maintained .NET one fits), so any other template is refused with
/// <see cref="InvalidDatasetException"/> rather than rendered approximately.
/// </summary>
public sealed class ChatTemplate
{
    private static readonly Regex Literal = new(@"'((?:[^'\\]|\\.)*)'|""((?:[^""\\]|\\.)*)""", RegexOptions.CultureInvariant);
    private static readonly Regex Tag = new(@"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", RegexOptions.Singleline | RegexOptions.CultureInvariant);

    // The only text a plain template of each shape may write; a template that writes anything else (a default system
    // prompt, tool instructions, a date) is not of that shape.
    private static readonly HashSet<string> ChatMlLiterals = new(StringComparer.Ordinal)
    {
        "<|im_start|>", "<|im_end|>", "\n", "<|im_end|>\n", "<|im_start|>assistant\n", "role", "content", "system", "user", "assistant",
    };
    private static readonly HashSet<string> Llama3Literals = new(StringComparer.Ordinal)
    {
        "<|start_header_id|>", "<|end_header_id|>\n\n", "<|eot_id|>", "<|start_header_id|>assistant<|end_header_id|>\n\n", "role", "content", "system", "user", "assistant",
    };

    private readonly string _bos;

    private ChatTemplate(ChatTemplateShape shape, string source, string bos, bool llama3AlwaysPrompts, bool gemmaMergesSystem)
    {
        Shape = shape;
        Source = source;
        _bos = bos;
        Llama3AlwaysPrompts = llama3AlwaysPrompts;
        GemmaMergesSystem = gemmaMergesSystem;
    }

    public ChatTemplateShape Shape { get; }
    /// <summary>The file the template came from.</summary>
    public string Source { get; }
    private bool Llama3AlwaysPrompts { get; }
    private bool GemmaMergesSystem { get; }

    /// <summary>The chat template of <paramref name="tokenizer"/>, or <see cref="InvalidDatasetException"/> saying why it cannot be used.</summary>
    public static ChatTemplate For(ModelTokenizer tokenizer)
    {
        var config = tokenizer.Config;
        var source = config.ChatTemplatePath ?? System.IO.Path.Combine(tokenizer.Folder, TokenizerConfig.FileName);
        var template = config.ChatTemplate;
        if (string.IsNullOrWhiteSpace(template))
            throw new InvalidDatasetException(
                $"The tokenizer in '{tokenizer.Folder}' has no chat template ('{source}' has no \"chat_template\"), so \"messages\" records cannot be rendered. " +
                "Use records with \"text\" (the conversation already written out) or \"prompt\"/\"completion\" instead, or a tokenizer that has a chat template.", source);
        return Parse(template, config.BosToken ?? "", source);
    }

    /// <summary>Recognises <paramref name="template"/> (Jinja source from <paramref name="source"/>); <paramref name="bos"/> is the bos_token it writes.</summary>
    public static ChatTemplate Parse(string template, string bos, string source)
    {
        var literals = Literal.Matches(string.Concat(Tag.Matches(template).Select(m => m.Value)))
            .Select(m => Unescape(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value)).ToHashSet(StringComparer.Ordinal);
        var outside = Tag.Replace(template, "");
        bool Has(string s) => template.Contains(s, StringComparison.Ordinal);

        if (Has("<|im_start|>") && Has("<|im_end|>") && Has("reasoning_content") && Has("last_query_index") && Has("</think>"))
            return new ChatTemplate(ChatTemplateShape.Qwen3, source, bos, false, false);
        if (Has("<|im_start|>") && Has("<|im_end|>") && literals.IsSubsetOf(ChatMlLiterals) && string.IsNullOrWhiteSpace(outside))
            return new ChatTemplate(ChatTemplateShape.ChatMl, source, bos, false, false);
        if (Has("<|start_header_id|>") && Has("<|eot_id|>") && literals.IsSubsetOf(Llama3Literals) && string.IsNullOrWhiteSpace(outside))
            return new ChatTemplate(ChatTemplateShape.Llama3, source, bos, llama3AlwaysPrompts: !Has("add_generation_prompt"), false);
        if (Has("<start_of_turn>") && Has("<end_of_turn>") && Has("bos_token"))
            return new ChatTemplate(ChatTemplateShape.Gemma, source, bos, false, gemmaMergesSystem: Has("first_user_prefix"));
        throw new InvalidDatasetException(
            $"The chat template in '{source}' is not supported: this module renders only a few common template shapes itself " +
            "(plain ChatML, Qwen3, Llama 3, Gemma) and this template is none of them, for example because it adds a default system prompt, " +
            "tool instructions or dates. Render the conversations to text yourself (records with \"text\") or use \"prompt\"/\"completion\" records.", source);
    }

    /// <summary>What the template appends with add_generation_prompt: the opening of the assistant's turn (empty for a
    /// Llama 3 template that always writes it, which <see cref="Render"/> then has already done).</summary>
    public string GenerationPrompt => Shape switch
    {
        ChatTemplateShape.ChatMl or ChatTemplateShape.Qwen3 => "<|im_start|>assistant\n",
        ChatTemplateShape.Llama3 => Llama3AlwaysPrompts ? "" : "<|start_header_id|>assistant<|end_header_id|>\n\n",
        ChatTemplateShape.Gemma => "<start_of_turn>model\n",
        _ => throw new InvalidOperationException(),
    };

    /// <summary>The token that closes a turn in this template's format (a chat model ends its answer with it).</summary>
    public string EndOfTurn => Shape switch
    {
        ChatTemplateShape.ChatMl or ChatTemplateShape.Qwen3 => "<|im_end|>",
        ChatTemplateShape.Llama3 => "<|eot_id|>",
        ChatTemplateShape.Gemma => "<end_of_turn>",
        _ => throw new InvalidOperationException(),
    };

    /// <summary>The conversation as the template writes it, without a generation prompt.</summary>
    public string Render(IReadOnlyList<ChatMessage> messages, string target, int? line)
    {
        if (messages.Count == 0) throw Invalid("has an empty \"messages\" list", target, line);
        foreach (var m in messages)
            if (m.Role is not ("system" or "user" or "assistant"))
                throw Invalid($"has a message with role '{(m.Role.Length <= 40 ? m.Role : m.Role[..37] + "...")}'; only system, user and assistant are supported", target, line);
        return Shape switch
        {
            ChatTemplateShape.ChatMl => string.Concat(messages.Select(m => $"<|im_start|>{m.Role}\n{m.Content}<|im_end|>\n")),
            ChatTemplateShape.Qwen3 => RenderQwen3(messages),
            ChatTemplateShape.Llama3 => RenderLlama3(messages),
            ChatTemplateShape.Gemma => RenderGemma(messages, target, line),
            _ => throw new InvalidOperationException(),
        };
    }

    private string RenderLlama3(IReadOnlyList<ChatMessage> messages)
    {
        var text = new StringBuilder(_bos);
        foreach (var m in messages) text.Append("<|start_header_id|>").Append(m.Role).Append("<|end_header_id|>\n\n").Append(JinjaTrim(m.Content)).Append("<|eot_id|>");
        if (Llama3AlwaysPrompts) text.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
        return text.ToString();
    }

    private string RenderGemma(IReadOnlyList<ChatMessage> messages, string target, int? line)
    {
        var prefix = "";
        var turns = messages;
        if (messages[0].Role == "system")
        {
            if (!GemmaMergesSystem)
                throw Invalid($"starts with a system message, which the chat template in '{Source}' does not accept; put the instructions into the first user message", target, line);
            prefix = messages[0].Content + "\n\n";
            turns = messages.Skip(1).ToList();
        }
        var text = new StringBuilder(_bos);
        for (var i = 0; i < turns.Count; i++)
        {
            if ((turns[i].Role == "user") != (i % 2 == 0))
                throw Invalid($"does not alternate user/assistant/user/...; the chat template in '{Source}' requires it", target, line);
            var role = turns[i].Role == "assistant" ? "model" : turns[i].Role;
            text.Append("<start_of_turn>").Append(role).Append('\n').Append(i == 0 ? prefix : "").Append(JinjaTrim(turns[i].Content)).Append("<end_of_turn>\n");
        }
        return text.ToString();
    }

    /// <summary>Qwen3: reasoning after the last user turn is written as a &lt;think&gt; block, earlier reasoning is dropped.</summary>
    private static string RenderQwen3(IReadOnlyList<ChatMessage> messages)
    {
        var text = new StringBuilder();
        if (messages[0].Role == "system") text.Append("<|im_start|>system\n").Append(messages[0].Content).Append("<|im_end|>\n");
        var lastQuery = messages.Count - 1;
        for (var i = messages.Count - 1; i >= 0; i--)
        {
            var c = messages[i].Content;
            if (messages[i].Role == "user" && !(c.StartsWith("<tool_response>", StringComparison.Ordinal) && c.EndsWith("</tool_response>", StringComparison.Ordinal)))
            {
                lastQuery = i;
                break;
            }
        }
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            if (m.Role == "user" || (m.Role == "system" && i > 0))
            {
                text.Append("<|im_start|>").Append(m.Role).Append('\n').Append(m.Content).Append("<|im_end|>\n");
                continue;
            }
            if (m.Role != "assistant") continue;
            var content = m.Content;
            var reasoning = "";
            var end = m.Content.IndexOf("</think>", StringComparison.Ordinal);
            if (end >= 0)
            {
                content = m.Content[(m.Content.LastIndexOf("</think>", StringComparison.Ordinal) + "</think>".Length)..].TrimStart('\n');
                var before = m.Content[..end].TrimEnd('\n');
                var start = before.LastIndexOf("<think>", StringComparison.Ordinal);
                reasoning = (start >= 0 ? before[(start + "<think>".Length)..] : before).TrimStart('\n');
            }
            if (i > lastQuery && (i == messages.Count - 1 || reasoning.Length > 0))
                text.Append("<|im_start|>assistant\n<think>\n").Append(reasoning.Trim('\n')).Append("\n</think>\n\n").Append(content.TrimStart('\n'));
            else
                text.Append("<|im_start|>assistant\n").Append(content);
            text.Append("<|im_end|>\n");
        }
        return text.ToString();
    }

    /// <summary>Jinja's trim filter: Python's str.strip(), which removes Unicode white space at both ends.</summary>
    private static string JinjaTrim(string s) => s.Trim();

    private static string Unescape(string literal) =>
        literal.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\t", "\t", StringComparison.Ordinal)
            .Replace("\\'", "'", StringComparison.Ordinal).Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);

    private static InvalidDatasetException Invalid(string problem, string target, int? line) =>
        new($"{Where(target, line)} {problem}.", target, line);

    internal static string Where(string target, int? line) => line is { } n ? $"'{target}' line {n}" : $"'{target}'";
}
