using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace TrainableTokens.Core.Tests.Models;

/// <summary>
/// The tensors a released checkpoint's safetensors files hold, by name and shape, worked out from its config.json the
/// way transformers' modeling file for that model_type builds its modules. It is written apart from src/ on purpose:
/// it checks the fixtures against the counts the checkpoints publish now, and the engine's own weight list can be
/// checked against it when these architectures land. A field the file does not carry takes the transformers
/// configuration class default where the fixtures rely on one; any other missing field is an error.
/// </summary>
internal static class PublishedCheckpointLayout
{
    public sealed record Tensor(string Name, long[] Shape)
    {
        public long Count => Shape.Aggregate(1L, (a, d) => a * d);
    }

    /// <summary>The defaults of transformers' configuration classes that the fixtures' files leave out.</summary>
    private static readonly Dictionary<string, Dictionary<string, JsonElement>> Defaults = new()
    {
        // Gemma2Config: tied head, head_dim 256.
        ["gemma2"] = Values(("tie_word_embeddings", true), ("head_dim", 256), ("attention_bias", false)),
        // Gemma3TextConfig: the sparse text_config of a Gemma3ForConditionalGeneration file relies on these.
        ["gemma3_text"] = Values(("vocab_size", 262208), ("num_attention_heads", 8), ("num_key_value_heads", 4),
            ("head_dim", 256), ("tie_word_embeddings", true), ("attention_bias", false)),
        // SiglipVisionConfig: RGB input.
        ["siglip_vision_model"] = Values(("num_channels", 3), ("vision_use_head", true)),
    };

    /// <summary>
    /// The checkpoint's tensors. <paramref name="storesTiedHead"/>: the published files hold lm_head.weight although
    /// the config ties it to the embedding (Qwen3-0.6B does), so the Hub's total counts the embedding twice.
    /// </summary>
    public static IReadOnlyList<Tensor> Of(JsonElement config, bool storesTiedHead = false)
    {
        var type = config.GetProperty("model_type").GetString()!;
        if (type != "gemma3")
            return Text(new Fields(config, type), "model.", "lm_head.weight", storesTiedHead).ToList();

        // Gemma3ForConditionalGeneration: the language model under language_model., the SigLIP tower and the projector.
        var text = new Fields(config.GetProperty("text_config"), "gemma3_text");
        var vision = new Fields(config.GetProperty("vision_config"), "siglip_vision_model");
        return Text(text, "language_model.model.", "language_model.lm_head.weight", storesTiedHead)
            .Concat(VisionTower(vision))
            .Concat(Projector(vision, text))
            .ToList();
    }

    /// <summary>The SigLIP vision tower's tensors (vision_tower.vision_model.*).</summary>
    public static IEnumerable<Tensor> VisionTower(Fields v)
    {
        if (v.Bool("vision_use_head"))
            throw new NotSupportedException("a SigLIP tower with its pooling head is not in any fixture");
        long h = v.Int("hidden_size"), inner = v.Int("intermediate_size"), patch = v.Int("patch_size");
        long side = v.Int("image_size") / patch;
        const string p = "vision_tower.vision_model.";
        yield return new($"{p}embeddings.patch_embedding.weight", [h, v.Int("num_channels"), patch, patch]);
        yield return new($"{p}embeddings.patch_embedding.bias", [h]);
        yield return new($"{p}embeddings.position_embedding.weight", [side * side, h]);
        for (var i = 0; i < v.Int("num_hidden_layers"); i++)
        {
            var l = $"{p}encoder.layers.{i}.";
            foreach (var norm in new[] { "layer_norm1", "layer_norm2" })
            {
                yield return new($"{l}{norm}.weight", [h]);
                yield return new($"{l}{norm}.bias", [h]);
            }
            foreach (var proj in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
            {
                yield return new($"{l}self_attn.{proj}.weight", [h, h]);
                yield return new($"{l}self_attn.{proj}.bias", [h]);
            }
            yield return new($"{l}mlp.fc1.weight", [inner, h]);
            yield return new($"{l}mlp.fc1.bias", [inner]);
            yield return new($"{l}mlp.fc2.weight", [h, inner]);
            yield return new($"{l}mlp.fc2.bias", [h]);
        }
        yield return new($"{p}post_layernorm.weight", [h]);
        yield return new($"{p}post_layernorm.bias", [h]);
    }

    /// <summary>Gemma 3's multimodal projector: a vision-width norm and a vision-to-text matrix.</summary>
    public static IEnumerable<Tensor> Projector(Fields vision, Fields text)
    {
        yield return new("multi_modal_projector.mm_input_projection_weight", [vision.Int("hidden_size"), text.Int("hidden_size")]);
        yield return new("multi_modal_projector.mm_soft_emb_norm.weight", [vision.Int("hidden_size")]);
    }

    private static IEnumerable<Tensor> Text(Fields c, string prefix, string head, bool storesTiedHead)
    {
        long vocab = c.Int("vocab_size"), h = c.Int("hidden_size"), inner = c.Int("intermediate_size");
        long heads = c.Int("num_attention_heads"), kv = c.Int("num_key_value_heads");
        // Phi-3, OLMo 2 and SmolLM3 have no head_dim field in their configuration class: the modules use hidden / heads.
        long dim = c.Has("head_dim") || c.Type is "qwen3" or "gemma2" or "gemma3_text" ? c.Int("head_dim") : h / heads;
        var bias = c.Type != "phi3" && c.Bool("attention_bias");

        yield return new($"{prefix}embed_tokens.weight", [vocab, h]);
        for (var i = 0; i < c.Int("num_hidden_layers"); i++)
        {
            var l = $"{prefix}layers.{i}.";
            foreach (var t in Attention(c.Type, l + "self_attn.", h, heads, kv, dim, bias))
                yield return t;
            if (c.Type == "phi3")
            {
                yield return new($"{l}mlp.gate_up_proj.weight", [2 * inner, h]);
                yield return new($"{l}mlp.down_proj.weight", [h, inner]);
            }
            else
            {
                yield return new($"{l}mlp.gate_proj.weight", [inner, h]);
                yield return new($"{l}mlp.up_proj.weight", [inner, h]);
                yield return new($"{l}mlp.down_proj.weight", [h, inner]);
            }
            foreach (var norm in LayerNorms(c.Type))
                yield return new($"{l}{norm}.weight", [h]);
        }
        yield return new($"{prefix}norm.weight", [h]);
        if (!c.Bool("tie_word_embeddings") || storesTiedHead)
            yield return new(head, [vocab, h]);
    }

    private static IEnumerable<Tensor> Attention(string type, string a, long h, long heads, long kv, long dim, bool bias)
    {
        if (type == "phi3")
        {
            // One fused projection: the queries, then the keys, then the values.
            yield return new($"{a}qkv_proj.weight", [(heads + 2 * kv) * dim, h]);
            yield return new($"{a}o_proj.weight", [h, heads * dim]);
            yield break;
        }
        foreach (var (name, rows) in new[] { ("q_proj", heads * dim), ("k_proj", kv * dim), ("v_proj", kv * dim) })
        {
            yield return new($"{a}{name}.weight", [rows, h]);
            if (bias) yield return new($"{a}{name}.bias", [rows]);
        }
        yield return new($"{a}o_proj.weight", [h, heads * dim]);
        if (bias) yield return new($"{a}o_proj.bias", [h]);
        switch (type)
        {
            case "qwen3" or "gemma3_text":
                // Per head: one weight of head_dim shared by every head.
                yield return new($"{a}q_norm.weight", [dim]);
                yield return new($"{a}k_norm.weight", [dim]);
                break;
            case "olmo2":
                // Over the whole projection, before it is split into heads.
                yield return new($"{a}q_norm.weight", [heads * dim]);
                yield return new($"{a}k_norm.weight", [kv * dim]);
                break;
        }
    }

    private static string[] LayerNorms(string type) => type switch
    {
        "gemma2" or "gemma3_text" => ["input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm"],
        // OLMo 2 normalises each block's output, not its input.
        "olmo2" => ["post_attention_layernorm", "post_feedforward_layernorm"],
        "qwen3" or "phi3" or "smollm3" => ["input_layernorm", "post_attention_layernorm"],
        _ => throw new NotSupportedException($"no layout for model_type '{type}'"),
    };

    /// <summary>A config object's fields, with the defaults of its model_type's configuration class.</summary>
    public sealed class Fields(JsonElement json, string type)
    {
        public string Type { get; } = type;

        public bool Has(string name) => json.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

        public long Int(string name) => Value(name).GetInt64();

        public bool Bool(string name) => Value(name).GetBoolean();

        private JsonElement Value(string name)
        {
            if (Has(name)) return json.GetProperty(name);
            if (Defaults.TryGetValue(Type, out var d) && d.TryGetValue(name, out var v)) return v;
            throw new InvalidOperationException($"config has no '{name}' and {Type} has no default for it here");
        }
    }

    private static Dictionary<string, JsonElement> Values(params (string Name, object Value)[] values) =>
        values.ToDictionary(v => v.Name, v => JsonSerializer.SerializeToElement(v.Value));
}
