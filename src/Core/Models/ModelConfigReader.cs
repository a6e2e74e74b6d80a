using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using TrainableTokens.Core.IO;

namespace TrainableTokens.Core.Models;

/// <summary>
/// Reads config.json into a <see cref="ModelConfig"/>, with Hugging Face's per-architecture defaults. The file is read
/// bounded (a regular UTF-8 file of at most <see cref="ModelConfigLimits.MaxFileBytes"/>, nesting at most 64, no key
/// twice), and every count and size is checked against <see cref="ModelConfigLimits"/> and against each other before
/// anything is built from it. Every problem is an <see cref="InvalidModelFolderException"/> naming the file and field.
/// </summary>
public static class ModelConfigReader
{
    public const string FileName = "config.json";

    private const int MaxDepth = 64;
    private const string Fix = "Fix the value in config.json, or download the model again.";

    public static ModelConfig ReadFolder(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!Directory.Exists(folder))
            throw new InvalidModelFolderException($"Model folder '{folder}' does not exist.", folder);
        if (FileKind.Of(path) == FileKindValue.Missing)
            throw new InvalidModelFolderException($"'{folder}' has no {FileName}: point -Model at a Hugging Face model folder (config.json, model.safetensors).", path);
        byte[] bytes;
        try
        {
            bytes = UserFile.ReadAllBytes(path, ModelConfigLimits.MaxFileBytes, "model config", message => new InvalidModelFolderException(message, path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidModelFolderException($"The model config '{path}' cannot be read: {e.Message} Check the file and its permissions.", path, e);
        }
        // Strict UTF-8 first: System.Text.Json would read invalid bytes inside a string and fail later, without a line.
        UserFile.DecodeUtf8(bytes, path, "model config", message => new InvalidModelFolderException(message, path));
        var json = bytes.AsMemory(bytes.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip, MaxDepth = MaxDepth });
        }
        catch (JsonException e)
        {
            if (json.Span.Trim(" \t\r\n"u8).IsEmpty)
                throw new InvalidModelFolderException($"'{path}' is empty. {Fix}", path, e);
            throw new InvalidModelFolderException($"'{path}' is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {Reason(e)} {Fix}", path, e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidModelFolderException($"'{path}' must hold a JSON object.", path);
            CheckKeys(doc.RootElement, path, "");
            return Parse(doc.RootElement, path);
        }
    }

    public static ModelConfig Parse(JsonElement root, string path)
    {
        var top = new Fields(root, path);
        var type = top.String("model_type") ?? throw top.Missing("model_type");
        if (!ModelArchitectures.IsSupported(type))
            throw new InvalidModelFolderException(
                $"'{path}': model_type '{Shorten(type)}'{Architecture(top)} is not supported, so nothing was loaded. " +
                $"Supported model_type values: {string.Join(", ", ModelArchitectures.Supported)}.", path);
        // Gemma3ForConditionalGeneration keeps the text model's fields in text_config (transformers' defaults when absent).
        var f = type == "gemma3" ? new Fields(top.Object("text_config") ?? EmptyObject, path, "text_config.") : top;
        var config = type == "gpt2" ? ParseGpt2(f) : ParseLlamaFamily(f, top, type);
        // EmbeddingGemma's bidirectional attention is not a causal language model.
        if (type.StartsWith("gemma3", StringComparison.Ordinal) && f.Bool("use_bidirectional_attention") == true)
            throw new InvalidModelFolderException(
                $"'{path}': {f.Prefix}use_bidirectional_attention is true (an embedding model such as EmbeddingGemma), so nothing was loaded. " +
                "This engine trains causal language models: use a Gemma 3 checkpoint with causal attention.", path);
        Validate(config, f);
        if (type == "gpt2") return config with { SlidingWindows = Enumerable.Repeat<int?>(null, config.NumLayers).ToList() };
        // Only now, with the layer count checked, is anything sized by it built.
        var rotary = RotaryLayers(f, type, config.NumLayers);
        var sliding = SlidingLayers(f, type, config.NumLayers, rotary);
        var window = Window(f, type);
        return config with
        {
            RotaryLayers = rotary,
            SlidingLayers = sliding,
            SlidingWindows = sliding.Select(s => s ? window : null).ToList(),
        };
    }

    /// <summary>Gemma3TextConfig's default sizes; released Gemma 3 configs leave the vocabulary and head counts to them.</summary>
    private static readonly Dictionary<string, int> Gemma3TextSizes = new()
    {
        ["vocab_size"] = 262_208,
        ["hidden_size"] = 2304,
        ["intermediate_size"] = 9216,
        ["num_hidden_layers"] = 26,
        ["num_attention_heads"] = 8,
        ["num_key_value_heads"] = 4,
    };

    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement;

    private static ModelConfig ParseLlamaFamily(Fields f, Fields top, string type)
    {
        var d = ModelTypeDefaults.For(type);
        // transformers saves a Gemma3ForConditionalGeneration's text_config as its difference from Gemma3TextConfig's
        // defaults (the 4B's has no head counts), so sizes fall back to those defaults there; elsewhere they are required.
        var sparse = type == "gemma3" ? Gemma3TextSizes : null;
        int Size(string name) => f.Int(name) ?? (sparse is not null && sparse.TryGetValue(name, out var v) ? v : throw f.Missing(name));
        int hidden = Size("hidden_size");
        int heads = Size("num_attention_heads");
        int? headDim = f.Int("head_dim");
        // transformers computes head_dim as hidden_size // num_attention_heads when config.json does not give it.
        if (headDim is null && d.HeadDim is null && heads > 0 && hidden > 0 && hidden % heads != 0)
            throw f.Invalid("hidden_size", $"is {hidden}, which num_attention_heads ({heads}) does not divide, and there is no head_dim");
        string activation = d.GemmaActivation
            ? f.String("hidden_activation") ?? f.String("hidden_act") ?? d.Activation
            : f.String("hidden_act") ?? d.Activation;
        bool attentionBias = d.AttentionBias && (f.Bool("attention_bias") ?? false);
        return RopeConfigReader.With(f, new ModelConfig
        {
            ModelType = type,
            VocabSize = Size("vocab_size"),
            HiddenSize = hidden,
            IntermediateSize = Size("intermediate_size"),
            NumLayers = Size("num_hidden_layers"),
            NumHeads = heads,
            NumKeyValueHeads = f.Int("num_key_value_heads") ?? (sparse is not null ? sparse["num_key_value_heads"] : heads),
            HeadDim = headDim ?? d.HeadDim ?? hidden / Math.Max(heads, 1),
            NormEpsilon = f.Double("rms_norm_eps") ?? d.NormEpsilon,
            HiddenActivation = activation,
            // A conditional-generation folder may say it at either level.
            TieWordEmbeddings = f.Bool("tie_word_embeddings") ?? (type == "gemma3" ? top.Bool("tie_word_embeddings") : null) ?? d.TieWordEmbeddings,
            MaxPositions = f.Int("max_position_embeddings") ?? d.MaxPositions,
            QkvBias = d.AlwaysQkvBias || attentionBias,
            OutputBias = attentionBias,
            MlpBias = d.MlpBias && (f.Bool("mlp_bias") ?? false),
            QueryPreAttentionScalar = d.QueryPreAttentionScalar is { } scalar ? f.Double("query_pre_attn_scalar") ?? scalar : null,
            AttentionSoftcap = d.AttentionSoftcap is not null || type.StartsWith("gemma3", StringComparison.Ordinal)
                ? f.Has("attn_logit_softcapping") ? f.Double("attn_logit_softcapping") : d.AttentionSoftcap
                : null,
            // Gemma3ForCausalLM caps its logits when final_logit_softcapping is set; Gemma3ForConditionalGeneration never does.
            FinalLogitSoftcap = d.FinalLogitSoftcap is not null || type == "gemma3_text"
                ? f.Has("final_logit_softcapping") ? f.Double("final_logit_softcapping") : d.FinalLogitSoftcap
                : null,
            TorchDtype = top.String("torch_dtype") ?? top.String("dtype") ?? f.String("torch_dtype") ?? f.String("dtype"),
            BosTokenId = top.Int("bos_token_id") ?? (type == "gemma3" ? f.Int("bos_token_id") : null),
            EosTokenId = top.FirstInt("eos_token_id") ?? (type == "gemma3" ? f.FirstInt("eos_token_id") : null),
            PadTokenId = top.Int("pad_token_id") ?? (type == "gemma3" ? f.Int("pad_token_id") : null),
        });
    }

    private static ModelConfig ParseGpt2(Fields f)
    {
        int hidden = f.RequiredInt("n_embd");
        int heads = f.RequiredInt("n_head");
        if (f.Bool("scale_attn_by_inverse_layer_idx") == true)
            throw new InvalidModelFolderException($"'{f.Path}': scale_attn_by_inverse_layer_idx=true is not supported.", f.Path);
        if (f.Bool("scale_attn_weights") == false)
            throw new InvalidModelFolderException($"'{f.Path}': scale_attn_weights=false is not supported.", f.Path);
        return new ModelConfig
        {
            ModelType = "gpt2",
            VocabSize = f.RequiredInt("vocab_size"),
            HiddenSize = hidden,
            // 4 * n_embd in long, so a huge n_embd is reported by the size check rather than wrapping around.
            IntermediateSize = f.Int("n_inner") ?? (int)Math.Min(4L * hidden, int.MaxValue),
            NumLayers = f.RequiredInt("n_layer"),
            NumHeads = heads,
            NumKeyValueHeads = heads,
            HeadDim = hidden / Math.Max(heads, 1),
            NormEpsilon = f.Double("layer_norm_epsilon") ?? 1e-5,
            HiddenActivation = f.String("activation_function") ?? "gelu_new",
            TieWordEmbeddings = f.Bool("tie_word_embeddings") ?? true,
            MaxPositions = f.Int("n_positions") ?? 1024,
            TorchDtype = f.String("torch_dtype") ?? f.String("dtype"),
            BosTokenId = f.Int("bos_token_id"),
            EosTokenId = f.FirstInt("eos_token_id"),
            PadTokenId = f.Int("pad_token_id"),
        };
    }

    /// <summary>The sliding window of the model's sliding layers, as transformers resolves it (null: none).</summary>
    private static int? Window(Fields f, string type)
    {
        int? window = f.Has("sliding_window") ? f.Int("sliding_window") : ModelTypeDefaults.For(type).SlidingWindow;
        if (window is { } w)
            f.Require(w > 0, "sliding_window", $"is {w}; it must be a positive number of tokens, or null for full attention");
        // Qwen2, Qwen3 and SmolLM3 slide only with use_sliding_window.
        if (type is "qwen2" or "qwen3" or "smollm3" && f.Bool("use_sliding_window") != true) return null;
        return window;
    }

    /// <summary>Per layer, whether it is a sliding-attention layer: layer_types when config.json has it, else each
    /// model_type's own rule.</summary>
    private static IReadOnlyList<bool> SlidingLayers(Fields f, string type, int layers, IReadOnlyList<bool> rotary)
    {
        if (f.Array("layer_types") is { } layerTypes)
        {
            var count = layerTypes.GetArrayLength();
            if (count != layers)
                throw new InvalidModelFolderException($"'{f.Path}': {f.Prefix}layer_types has {count} entries but {f.Prefix}num_hidden_layers is {layers}. {Fix}", f.Path);
            var kinds = new List<bool>(count);
            var index = 0;
            foreach (var entry in layerTypes.EnumerateArray())
            {
                var kind = entry.ValueKind == JsonValueKind.String ? f.Text(entry, $"layer_types[{index}]") : null;
                if (kind is not ("full_attention" or "sliding_attention"))
                    throw f.Invalid($"layer_types[{index}]", $"is {Raw(entry)}; this engine runs \"full_attention\" and \"sliding_attention\" layers");
                kinds.Add(kind == "sliding_attention");
                index++;
            }
            return kinds;
        }
        var window = Window(f, type);
        switch (type)
        {
            case "mistral" or "phi3":
                return Enumerable.Repeat(window is not null, layers).ToList();
            case "qwen2" or "qwen3":
                int from = f.Int("max_window_layers") ?? 28; // Qwen2Config's and Qwen3Config's default
                return Enumerable.Range(0, layers).Select(i => window is not null && i >= from).ToList();
            case "gemma2":
                return Enumerable.Range(0, layers).Select(i => (i + 1) % 2 != 0).ToList();
            case "gemma3_text" or "gemma3":
            {
                var name = f.Has("sliding_window_pattern") ? "sliding_window_pattern" : "_sliding_window_pattern";
                int pattern = f.Int(name) ?? 6;
                f.Require(pattern > 0, name, $"is {pattern}; it must be a positive number of layers (every pattern-th layer attends fully)");
                return Enumerable.Range(0, layers).Select(i => (i + 1) % pattern != 0).ToList();
            }
            case "smollm3":
                return Enumerable.Range(0, layers).Select(i => window is not null && !rotary[i]).ToList();
            default:
                return Enumerable.Repeat(false, layers).ToList();
        }
    }

    /// <summary>Per layer, whether it rotates q and k: SmolLM3's no_rope_layers (1 rope, 0 none), or every
    /// no_rope_layer_interval-th layer without; every layer for the other model types.</summary>
    private static IReadOnlyList<bool> RotaryLayers(Fields f, string type, int layers)
    {
        if (type != "smollm3") return Enumerable.Repeat(true, layers).ToList();
        if (f.Array("no_rope_layers") is { } list)
        {
            var count = list.GetArrayLength();
            if (count < layers)
                throw new InvalidModelFolderException($"'{f.Path}': no_rope_layers has {count} entries but num_hidden_layers is {layers}; it needs one per layer (1 uses rope, 0 does not). {Fix}", f.Path);
            var result = new List<bool>(layers);
            var index = 0;
            foreach (var entry in list.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Number || !entry.TryGetInt32(out var value) || value is not (0 or 1))
                    throw f.Invalid($"no_rope_layers[{index}]", $"is {Raw(entry)}; each entry must be 1 (the layer uses rope) or 0 (it does not)");
                if (index++ < layers) result.Add(value == 1);
            }
            return result;
        }
        int interval = f.Int("no_rope_layer_interval") ?? 4;
        f.Require(interval > 0, "no_rope_layer_interval", $"is {interval}; it must be a positive number of layers");
        return Enumerable.Range(0, layers).Select(i => (i + 1) % interval != 0).ToList();
    }

    private static void Validate(ModelConfig c, Fields f)
    {
        var gpt2 = c.ModelType == "gpt2";
        void Range(long value, long max, string field, string gpt2Field, string what)
        {
            if (value < 1 || value > max)
                throw f.Invalid(gpt2 ? gpt2Field : field,
                    $"is {value}; {what} must be a whole number from 1 to {max.ToString("N0", CultureInfo.InvariantCulture)}");
        }
        Range(c.VocabSize, ModelConfigLimits.MaxVocabSize, "vocab_size", "vocab_size", "the vocabulary size");
        Range(c.HiddenSize, ModelConfigLimits.MaxHiddenSize, "hidden_size", "n_embd", "the hidden size");
        Range(c.NumLayers, ModelConfigLimits.MaxLayers, "num_hidden_layers", "n_layer", "the layer count");
        Range(c.NumHeads, ModelConfigLimits.MaxHeads, "num_attention_heads", "n_head", "the head count");
        if (c.NumKeyValueHeads < 1 || c.NumHeads % c.NumKeyValueHeads != 0)
            throw f.Invalid("num_key_value_heads", $"is {c.NumKeyValueHeads}; it must divide num_attention_heads ({c.NumHeads})");
        if (gpt2 && c.HiddenSize % c.NumHeads != 0)
            throw f.Invalid("n_embd", $"({c.HiddenSize}) must be divisible by n_head ({c.NumHeads})");
        if (c.HeadDim < 1 || c.HeadDim % 2 != 0 || c.HeadDim > ModelConfigLimits.MaxHeadDim)
            throw f.Invalid("head_dim", $"is {c.HeadDim}; it must be a positive even number up to {ModelConfigLimits.MaxHeadDim}");
        Range(c.IntermediateSize, ModelConfigLimits.MaxIntermediateSize, "intermediate_size", "n_inner", "the MLP size");
        Range(c.MaxPositions, ModelConfigLimits.MaxPositions, "max_position_embeddings", "n_positions", "the number of positions");
        var epsilon = gpt2 ? "layer_norm_epsilon" : "rms_norm_eps";
        if (!double.IsFinite(c.NormEpsilon) || c.NormEpsilon <= 0)
            throw f.Invalid(epsilon, $"is {Number(c.NormEpsilon)}; it must be a small positive number such as 1e-06");
        if (c.QueryPreAttentionScalar is { } scalar && !(double.IsFinite(scalar) && scalar > 0))
            throw f.Invalid("query_pre_attn_scalar", $"is {Number(scalar)}; it must be a positive number (scores are scaled by its inverse square root), such as the head_dim {c.HeadDim}");
        if (c.AttentionSoftcap is { } attentionCap && !(double.IsFinite(attentionCap) && attentionCap > 0))
            throw f.Invalid("attn_logit_softcapping", $"is {Number(attentionCap)}; it must be a positive number such as 50.0, or null for none");
        if (c.FinalLogitSoftcap is { } finalCap && !(double.IsFinite(finalCap) && finalCap > 0))
            throw f.Invalid("final_logit_softcapping", $"is {Number(finalCap)}; it must be a positive number such as 30.0, or null for none");
        Activations.Validate(c.HiddenActivation, f.Path);
    }

    /// <summary>Refuses a key written twice in one object (Python keeps the last, System.Text.Json the first) and keys that are not text.</summary>
    private static void CheckKeys(JsonElement element, string path, string where)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException e)
                    {
                        throw new InvalidModelFolderException(
                            $"'{path}': a key {(where.Length == 0 ? "at the top level" : $"in '{where}'")} holds a \\u escape that is half of a character (a lone surrogate). {Fix}", path, e);
                    }
                    var field = where.Length == 0 ? name : where + "." + name;
                    if (!seen.Add(name))
                        throw new InvalidModelFolderException($"'{path}': '{Shorten(field)}' is written twice. Keep one of them.", path);
                    CheckKeys(property.Value, path, field);
                }
                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray()) CheckKeys(item, path, $"{where}[{index++}]");
                break;
        }
    }

    private static string Reason(JsonException e)
    {
        var message = e.Message;
        if (message.Contains("maximum configured depth", StringComparison.Ordinal))
            return $"values are nested more than {MaxDepth} levels deep, far more than a model config has.";
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut > 0) message = message[..cut];
        // .NET quotes the rest of a bad literal, which can be a whole file on one line.
        message = message.TrimEnd();
        return message.Length <= 200 ? message : message[..197] + "...";
    }

    /// <summary>" (Qwen3ForCausalLM)" from the config's architectures, so the message says which model it is; empty when it does not say.</summary>
    private static string Architecture(Fields f) => f.FirstText("architectures") is { } name ? $" ({Shorten(name)})" : "";

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";

    private static string Raw(JsonElement value) => Shorten(value.GetRawText());

    /// <summary>Typed access to a JSON object's fields, with errors that name the file and field.</summary>
    internal readonly struct Fields
    {
        private readonly JsonElement _e;
        private readonly string _prefix;
        public string Path { get; }
        public string Prefix => _prefix;

        public Fields(JsonElement e, string path, string prefix = "")
        {
            _e = e;
            Path = path;
            _prefix = prefix;
        }

        private JsonElement? Get(string name) =>
            _e.ValueKind == JsonValueKind.Object && _e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

        /// <summary>Whether config.json has the field at all, null included (transformers then takes the null, not its default).</summary>
        public bool Has(string name) => _e.ValueKind == JsonValueKind.Object && _e.TryGetProperty(name, out _);

        public InvalidModelFolderException Missing(string name) =>
            new($"'{Path}' has no '{_prefix}{name}', which this model type needs.", Path);

        public InvalidModelFolderException Invalid(string name, string problem) =>
            new($"'{Path}': {_prefix}{name} {problem}. {Fix}", Path);

        public void Require(bool ok, string name, string problem)
        {
            if (!ok) throw Invalid(name, problem);
        }

        private InvalidModelFolderException Wrong(string name, string expected, JsonElement v) =>
            new($"'{Path}': '{_prefix}{name}' must be {expected}, not {Raw(v)}. {Fix}", Path);

        /// <summary>A string value; an escape that is half a character is an error naming the field, not an InvalidOperationException.</summary>
        public string Text(JsonElement v, string name)
        {
            try
            {
                return v.GetString()!;
            }
            catch (InvalidOperationException e)
            {
                throw new InvalidModelFolderException(
                    $"'{Path}': '{_prefix}{name}' holds a \\u escape that is half of a character (a lone surrogate). {Fix}", Path, e);
            }
        }

        public string? String(string name) => Get(name) is { } v ? v.ValueKind == JsonValueKind.String ? Text(v, name) : throw Wrong(name, "a string", v) : null;

        public int? Int(string name) => Get(name) is { } v ? v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw Wrong(name, "an integer", v) : null;

        public int RequiredInt(string name) => Int(name) ?? throw Missing(name);

        /// <summary>An id, or the first of a list of ids (eos_token_id may be either).</summary>
        public int? FirstInt(string name)
        {
            if (Get(name) is not { ValueKind: JsonValueKind.Array } list) return Int(name);
            var index = 0;
            int? first = null;
            foreach (var item in list.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out var id))
                    throw Wrong($"{name}[{index}]", "an integer", item);
                first ??= id;
                index++;
            }
            return first;
        }

        /// <summary>A number; 1e999 is refused here (GetDouble would throw a FormatException for it).</summary>
        public double? Double(string name) => Get(name) is { } v
            ? v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) ? d : throw Wrong(name, "a finite number", v)
            : null;

        public bool? Bool(string name) => Get(name) is { } v
            ? v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw Wrong(name, "true or false", v)
            : null;

        /// <summary>An object value, null when absent or null; anything else is an error rather than silently ignored.</summary>
        public JsonElement? Object(string name) => Get(name) is { } v ? v.ValueKind == JsonValueKind.Object ? v : throw Wrong(name, "an object", v) : null;

        /// <summary>The first entry of a list of strings, or null for anything else; never an error (it only labels messages).</summary>
        public string? FirstText(string name)
        {
            if (Get(name) is not { ValueKind: JsonValueKind.Array } list || list.GetArrayLength() == 0 || list[0].ValueKind != JsonValueKind.String) return null;
            try
            {
                return list[0].GetString();
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }

        public JsonElement? Array(string name) => Get(name) is { } v ? v.ValueKind == JsonValueKind.Array ? v : throw Wrong(name, "a list", v) : null;
    }
}
