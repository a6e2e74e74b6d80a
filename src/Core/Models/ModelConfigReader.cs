using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace TrainableTokens.Core.Models;

/// <summary>Reads config.json into a <see cref="ModelConfig"/>, with Hugging Face's per-architecture defaults.</summary>
public static class ModelConfigReader
{
    public const string FileName = "config.json";

    public static ModelConfig ReadFolder(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!Directory.Exists(folder))
            throw new InvalidModelFolderException($"Model folder '{folder}' does not exist.", folder);
        if (!File.Exists(path))
            throw new InvalidModelFolderException($"'{folder}' has no {FileName}: point -Model at a Hugging Face model folder (config.json, model.safetensors).", path);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new InvalidModelFolderException($"'{path}' is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", path, e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidModelFolderException($"'{path}' must hold a JSON object.", path);
            return Parse(doc.RootElement, path);
        }
    }

    public static ModelConfig Parse(JsonElement root, string path)
    {
        var f = new Fields(root, path);
        var type = f.String("model_type") ?? throw f.Missing("model_type");
        if (!ModelArchitectures.IsSupported(type))
            throw new InvalidModelFolderException(
                $"'{path}': model_type '{type}' is not supported. Supported: {string.Join(", ", ModelArchitectures.Supported)}.", path);
        var config = type == "gpt2" ? ParseGpt2(f) : ParseLlamaFamily(f, type);
        Validate(config, f);
        return config;
    }

    private static ModelConfig ParseLlamaFamily(Fields f, string type)
    {
        int hidden = f.RequiredInt("hidden_size");
        int heads = f.RequiredInt("num_attention_heads");
        int layers = f.RequiredInt("num_hidden_layers");
        string activation = type == "gemma"
            ? f.String("hidden_activation") ?? f.String("hidden_act") ?? "gelu_pytorch_tanh"
            : f.String("hidden_act") ?? "silu";
        bool attentionBias = f.Bool("attention_bias") ?? false;
        return new ModelConfig
        {
            ModelType = type,
            VocabSize = f.RequiredInt("vocab_size"),
            HiddenSize = hidden,
            IntermediateSize = f.RequiredInt("intermediate_size"),
            NumLayers = layers,
            NumHeads = heads,
            NumKeyValueHeads = f.Int("num_key_value_heads") ?? heads,
            HeadDim = f.Int("head_dim") ?? (type == "gemma" ? 256 : hidden / Math.Max(heads, 1)),
            NormEpsilon = f.Double("rms_norm_eps") ?? 1e-6,
            HiddenActivation = activation,
            TieWordEmbeddings = f.Bool("tie_word_embeddings") ?? type == "gemma",
            MaxPositions = f.Int("max_position_embeddings") ?? 2048,
            RopeTheta = RopeTheta(f),
            RopeScaling = RopeScalingOf(f),
            QkvBias = type == "qwen2" || attentionBias,
            OutputBias = type != "qwen2" && attentionBias,
            MlpBias = type == "llama" && (f.Bool("mlp_bias") ?? false),
            SlidingWindows = SlidingWindows(f, type, layers),
            TorchDtype = f.String("torch_dtype") ?? f.String("dtype"),
            BosTokenId = f.Int("bos_token_id"),
            EosTokenId = f.FirstInt("eos_token_id"),
            PadTokenId = f.Int("pad_token_id"),
        };
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
            IntermediateSize = f.Int("n_inner") ?? 4 * hidden,
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

    private static double RopeTheta(Fields f) =>
        f.Object("rope_parameters") is { } p && new Fields(p, f.Path).Double("rope_theta") is { } theta ? theta : f.Double("rope_theta") ?? 10000;

    private static RopeScaling RopeScalingOf(Fields f)
    {
        // transformers 4.x writes "rope_scaling"; 5.x writes "rope_parameters" with the type under "rope_type".
        var element = f.Object("rope_scaling") ?? f.Object("rope_parameters");
        if (element is null) return RopeScaling.None;
        var s = new Fields(element.Value, f.Path);
        var type = s.String("rope_type") ?? s.String("type") ?? "default";
        return type switch
        {
            "default" => RopeScaling.None,
            "linear" => RopeScaling.None with { Type = "linear", Factor = s.Double("factor") ?? throw s.Missing("rope_scaling.factor") },
            "llama3" => new RopeScaling("llama3",
                s.Double("factor") ?? throw s.Missing("rope_scaling.factor"),
                s.Double("low_freq_factor") ?? throw s.Missing("rope_scaling.low_freq_factor"),
                s.Double("high_freq_factor") ?? throw s.Missing("rope_scaling.high_freq_factor"),
                s.Int("original_max_position_embeddings") ?? throw s.Missing("rope_scaling.original_max_position_embeddings")),
            _ => throw new InvalidModelFolderException(
                $"'{f.Path}': rope scaling type '{type}' is not supported. Supported: default, linear, llama3.", f.Path),
        };
    }

    private static IReadOnlyList<int?> SlidingWindows(Fields f, string type, int layers)
    {
        int? window = f.Int("sliding_window");
        if (f.Array("layer_types") is { } layerTypes)
        {
            var kinds = layerTypes.EnumerateArray().Select(e => e.GetString()).ToList();
            if (kinds.Count != layers)
                throw new InvalidModelFolderException($"'{f.Path}': layer_types has {kinds.Count} entries but num_hidden_layers is {layers}.", f.Path);
            return kinds.Select(k => k == "sliding_attention" ? window : null).ToList();
        }
        return type switch
        {
            "mistral" => Enumerable.Repeat(window, layers).ToList(),
            "qwen2" when f.Bool("use_sliding_window") == true =>
                Enumerable.Range(0, layers).Select(i => i >= (f.Int("max_window_layers") ?? layers) ? window : null).ToList(),
            _ => Enumerable.Repeat<int?>(null, layers).ToList(),
        };
    }

    private static void Validate(ModelConfig c, Fields f)
    {
        void Require(bool ok, string field, string message)
        {
            if (!ok) throw new InvalidModelFolderException($"'{f.Path}': {field} {message}", f.Path);
        }
        Require(c.VocabSize > 0, "vocab_size", "must be positive.");
        Require(c.HiddenSize > 0, "hidden_size", "must be positive.");
        Require(c.NumLayers > 0, "num_hidden_layers", "must be positive.");
        Require(c.NumHeads > 0, "num_attention_heads", "must be positive.");
        Require(c.NumKeyValueHeads > 0 && c.NumHeads % c.NumKeyValueHeads == 0, "num_key_value_heads",
            $"({c.NumKeyValueHeads}) must divide num_attention_heads ({c.NumHeads}).");
        Require(c.HeadDim > 0 && c.HeadDim % 2 == 0, "head_dim", $"({c.HeadDim}) must be a positive even number.");
        Require(c.ModelType != "gpt2" || c.HiddenSize % c.NumHeads == 0, "n_embd", $"({c.HiddenSize}) must be divisible by n_head ({c.NumHeads}).");
        Require(c.IntermediateSize > 0, "intermediate_size", "must be positive.");
        Require(c.NormEpsilon > 0, "rms_norm_eps", "must be positive.");
        Activations.Validate(c.HiddenActivation, f.Path);
    }

    /// <summary>Typed access to a JSON object's fields, with errors that name the file and field.</summary>
    private readonly struct Fields
    {
        private readonly JsonElement _e;
        public string Path { get; }

        public Fields(JsonElement e, string path)
        {
            _e = e;
            Path = path;
        }

        private JsonElement? Get(string name) =>
            _e.ValueKind == JsonValueKind.Object && _e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

        public InvalidModelFolderException Missing(string name) =>
            new($"'{Path}' has no '{name}', which this model type needs.", Path);

        private InvalidModelFolderException Wrong(string name, string expected, JsonElement v) =>
            new($"'{Path}': '{name}' must be {expected}, not {v.GetRawText()}.", Path);

        public string? String(string name) => Get(name) is { } v ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw Wrong(name, "a string", v) : null;

        public int? Int(string name) => Get(name) is { } v ? v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw Wrong(name, "an integer", v) : null;

        public int RequiredInt(string name) => Int(name) ?? throw Missing(name);

        public int? FirstInt(string name) => Get(name) is { ValueKind: JsonValueKind.Array } a
            ? a.EnumerateArray().Select(x => x.TryGetInt32(out var i) ? (int?)i : null).FirstOrDefault()
            : Int(name);

        public double? Double(string name) => Get(name) is { } v ? v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw Wrong(name, "a number", v) : null;

        public bool? Bool(string name) => Get(name) is { } v
            ? v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw Wrong(name, "true or false", v)
            : null;

        public JsonElement? Object(string name) => Get(name) is { ValueKind: JsonValueKind.Object } v ? v : null;

        public JsonElement? Array(string name) => Get(name) is { ValueKind: JsonValueKind.Array } v ? v : null;
    }
}
