using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Core.Tuners.Lora;

/// <summary>How LoRA's A and B start (PEFT's init_lora_weights).</summary>
public enum LoraInit
{
    /// <summary>true: A kaiming-uniform (a = sqrt(5)), B zero, so the adapter starts as the identity.</summary>
    Default,
    /// <summary>"gaussian": A normal with std 1/r, B zero.</summary>
    Gaussian,
    /// <summary>false: both as torch.nn.Linear initialises them (not the identity; for tests).</summary>
    Random,
}

/// <summary>
/// PEFT's LoraConfig as adapter_config.json holds it. Reading is strict and reports every problem at once; fields
/// this version cannot honour are refused by name rather than ignored. Unknown keys (newer PEFT releases) and
/// PEFT fields left at their defaults are kept in <see cref="ExtraFields"/> and written back unchanged.
/// </summary>
public sealed record LoraConfig
{
    public const string PeftType = "LORA";
    public const string FileName = "adapter_config.json";
    public const long MaxFileBytes = 32L << 20;

    public int R { get; init; } = 8;
    public double LoraAlpha { get; init; } = 8;
    public double LoraDropout { get; init; }
    /// <summary>Null: PEFT's default for the architecture (q_proj and v_proj for the decoders here).</summary>
    public LoraTargets? TargetModules { get; init; }
    public LoraTargets? ExcludeModules { get; init; }
    public bool UseRslora { get; init; }
    public string Bias { get; init; } = "none";
    public LoraInit InitLoraWeights { get; init; } = LoraInit.Default;
    public IReadOnlyList<int>? LayersToTransform { get; init; }
    public IReadOnlyList<string>? LayersPattern { get; init; }
    /// <summary>Module pattern to rank, in file order (the first match wins, as in PEFT).</summary>
    public IReadOnlyList<KeyValuePair<string, int>> RankPattern { get; init; } = Array.Empty<KeyValuePair<string, int>>();
    public IReadOnlyList<KeyValuePair<string, double>> AlphaPattern { get; init; } = Array.Empty<KeyValuePair<string, double>>();
    public IReadOnlyList<string>? ModulesToSave { get; init; }
    /// <summary>A list (the input embedding's rows) ...</summary>
    public IReadOnlyList<long>? TrainableTokenIndices { get; init; }
    /// <summary>... or a map of module name (suffix) to rows.</summary>
    public IReadOnlyList<KeyValuePair<string, IReadOnlyList<long>>>? TrainableTokenIndicesByModule { get; init; }
    public bool EnsureWeightTying { get; init; }
    public string? TaskType { get; init; } = "CAUSAL_LM";
    public bool InferenceMode { get; init; } = true;
    public string? BaseModelNameOrPath { get; init; }
    public string? Revision { get; init; }
    public IReadOnlyDictionary<string, JsonNode?> ExtraFields { get; init; } = new Dictionary<string, JsonNode?>();

    /// <summary>alpha/r, or alpha/sqrt(r) with rsLoRA, for a module of rank <paramref name="r"/> and alpha <paramref name="alpha"/>.</summary>
    public double Scaling(int r, double alpha) => UseRslora ? alpha / Math.Sqrt(r) : alpha / r;

    /// <summary>The rank for <paramref name="path"/>: the first rank_pattern key that matches it, else r.</summary>
    public int RankFor(string path) => PatternValue(RankPattern, path, R);

    public double AlphaFor(string path) => PatternValue(AlphaPattern, path, LoraAlpha);

    /// <summary>PEFT's pattern keys: a key equal to the path, or a regex for its last dotted parts ("(.*\.)?(key)$").</summary>
    private static T PatternValue<T>(IReadOnlyList<KeyValuePair<string, T>> patterns, string path, T fallback)
    {
        foreach (var (key, value) in patterns)
            if (key == path || LoraTargets.FullMatch($@"(.*\.)?(?:{key})", path)) return value;
        return fallback;
    }

    /// <summary>PEFT's own checks of layer selection: layer indices need a list of target names, and a layers_pattern needs indices.</summary>
    internal (string Field, string Message)? LayerSelectionProblem()
    {
        if (TargetModules is { IsList: false } && LayersToTransform is not null)
            return ("layers_to_transform", $"cannot be used when target_modules is the string \"{TargetModules.Pattern}\" (PEFT refuses it too); list module names in target_modules, or remove layers_to_transform.");
        if (TargetModules is { IsList: false } && LayersPattern is not null)
            return ("layers_pattern", $"cannot be used when target_modules is the string \"{TargetModules.Pattern}\"; list module names in target_modules, or remove layers_pattern.");
        if (LayersPattern is not null && LayersToTransform is null)
            return ("layers_pattern", "is set but layers_to_transform is not; give the layer indices too, or remove layers_pattern.");
        return null;
    }

    // PEFT fields with one value this version honours; any other value is refused by name.
    private static readonly (string Field, Func<JsonNode?, bool> IsDefault, string Fix)[] FixedFields =
    {
        ("fan_in_fan_out", n => IsFalse(n), "Conv1D (GPT-2) targets are not supported yet; set it to false"),
        ("use_dora", n => IsFalse(n), "DoRA is not supported; set it to false"),
        ("lora_bias", n => IsFalse(n), "LoRA biases are not supported; set it to false"),
        ("use_qalora", n => IsFalse(n), "QA-LoRA is not supported; set it to false"),
        ("layer_replication", n => n is null, "layer replication is not supported; remove it"),
        ("target_parameters", n => n is null || n is JsonArray { Count: 0 }, "LoRA on parameters is not supported; remove it"),
        ("loftq_config", n => n is null || n is JsonObject { Count: 0 }, "LoftQ is not supported; remove it"),
        ("eva_config", n => n is null, "EVA initialisation is not supported; remove it"),
        ("corda_config", n => n is null, "CorDA initialisation is not supported; remove it"),
        ("megatron_config", n => n is null, "Megatron layers are not supported; remove it"),
        ("alora_invocation_tokens", n => n is null, "aLoRA is not supported; remove it"),
        ("runtime_config", n => n is null || n is JsonObject, "it must be an object"),
    };

    private static bool IsFalse(JsonNode? n) => n is null || (n.GetValueKind() == JsonValueKind.False);

    /// <summary>Parses adapter_config.json text; <paramref name="source"/> names the file in errors. Every problem is reported in one exception.</summary>
    public static LoraConfig FromJson(string json, string source)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Disallow }) as JsonObject
                ?? throw new InvalidAdapterException($"'{source}' must hold a JSON object (PEFT's adapter config).", source);
        }
        catch (JsonException e)
        {
            throw new InvalidAdapterException($"'{source}' is not valid JSON: {e.Message} Re-save the adapter with PEFT's save_pretrained.", source, e);
        }
        var reader = new Reader(root, source);
        var config = reader.Read();
        if (reader.Findings.Count > 0)
        {
            var inner = new InvalidConfigException(reader.Findings, source);
            throw new InvalidAdapterException($"'{source}' is not a LoRA adapter config this module can use. {inner.Message}", source, inner);
        }
        return config;
    }

    /// <summary>This config with an unset target_modules made PEFT's default (q_proj, v_proj), as PEFT saves it.</summary>
    public LoraConfig WithTargetsResolved() => TargetModules is null ? this with { TargetModules = LoraTargets.List(LoraModel.DefaultTargets) } : this;

    /// <summary>adapter_config.json with PEFT's field names, sorted keys and two-space indent, as save_pretrained writes it.</summary>
    public string ToJson()
    {
        var o = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (k, v) in ExtraFields) o[k] = v?.DeepClone();
        o["peft_type"] = PeftType;
        o["r"] = R;
        o["lora_alpha"] = Number(LoraAlpha);
        o["lora_dropout"] = LoraDropout;
        o["target_modules"] = Targets(TargetModules);
        o["exclude_modules"] = Targets(ExcludeModules);
        o["use_rslora"] = UseRslora;
        o["bias"] = Bias;
        o["init_lora_weights"] = InitLoraWeights switch { LoraInit.Gaussian => "gaussian", LoraInit.Random => false, _ => true };
        o["layers_to_transform"] = LayersToTransform is null ? null : new JsonArray(LayersToTransform.Select(i => (JsonNode?)i).ToArray());
        o["layers_pattern"] = LayersPattern is null ? null : new JsonArray(LayersPattern.Select(i => (JsonNode?)i).ToArray());
        o["rank_pattern"] = new JsonObject(RankPattern.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value)));
        o["alpha_pattern"] = new JsonObject(AlphaPattern.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, Number(kv.Value))));
        o["modules_to_save"] = ModulesToSave is null ? null : new JsonArray(ModulesToSave.Select(i => (JsonNode?)i).ToArray());
        o["trainable_token_indices"] = TrainableTokenIndices is not null ? Ids(TrainableTokenIndices)
            : TrainableTokenIndicesByModule is not null ? new JsonObject(TrainableTokenIndicesByModule.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, Ids(kv.Value))))
            : null;
        o["ensure_weight_tying"] = EnsureWeightTying;
        o["task_type"] = TaskType;
        o["inference_mode"] = InferenceMode;
        o["base_model_name_or_path"] = BaseModelNameOrPath;
        o["revision"] = Revision;
        return new JsonObject(o).ToJsonString(new JsonSerializerOptions { WriteIndented = true });

        static JsonNode Number(double d) => d == Math.Floor(d) && Math.Abs(d) < 1e15 ? JsonValue.Create((long)d) : JsonValue.Create(d);
        static JsonNode? Targets(LoraTargets? t) => t switch
        {
            null => null,
            { Names: { } names } => new JsonArray(names.Select(n => (JsonNode?)n).ToArray()),
            _ => JsonValue.Create(t.Pattern!),
        };
        static JsonArray Ids(IReadOnlyList<long> ids) => new(ids.Select(i => (JsonNode?)i).ToArray());
    }

    /// <summary>Reads each field, collecting a finding per problem instead of stopping at the first.</summary>
    private sealed class Reader
    {
        private readonly JsonObject _root;
        private readonly string _source;
        private readonly HashSet<string> _used = new(StringComparer.Ordinal);

        public Reader(JsonObject root, string source)
        {
            _root = root;
            _source = source;
        }

        public List<ConfigFinding> Findings { get; } = new();

        private void Error(string field, string message) =>
            Findings.Add(new ConfigFinding(ConfigSeverity.Error, field, null, null, message) { Source = _source });

        private JsonNode? Get(string field)
        {
            _used.Add(field);
            return _root.TryGetPropertyValue(field, out var node) ? node : null;
        }

        private bool Has(string field) => _root.ContainsKey(field);

        public LoraConfig Read()
        {
            var peftType = Get("peft_type");
            if (peftType is null || peftType.GetValueKind() != JsonValueKind.String || (string)peftType! != PeftType)
                Error("peft_type", $"must be \"{PeftType}\" (found {Show(peftType)}); this is not a LoRA adapter.");
            var defaults = new LoraConfig();
            var r = Int("r", defaults.R, min: 1);
            var alpha = Double("lora_alpha", defaults.LoraAlpha);
            var dropout = Double("lora_dropout", 0);
            if (dropout is < 0 or >= 1) Error("lora_dropout", $"must be at least 0 and below 1 (found {dropout.ToString(CultureInfo.InvariantCulture)}).");
            var config = new LoraConfig
            {
                R = r,
                LoraAlpha = alpha,
                LoraDropout = dropout,
                TargetModules = Targets("target_modules"),
                ExcludeModules = Targets("exclude_modules"),
                UseRslora = Bool("use_rslora", false),
                Bias = BiasField(),
                InitLoraWeights = Init(),
                LayersToTransform = Layers(),
                LayersPattern = LayersPatternField(),
                RankPattern = Pattern<int>("rank_pattern", n => IntOf(n) is { } v && v >= 1 && v <= int.MaxValue ? (int)v : null, "a rank of at least 1"),
                AlphaPattern = Pattern<double>("alpha_pattern", n => DoubleOf(n), "a number"),
                ModulesToSave = ModulesToSaveField(),
                EnsureWeightTying = Bool("ensure_weight_tying", false),
                TaskType = OptionalString("task_type", "CAUSAL_LM"),
                InferenceMode = Bool("inference_mode", true),
                BaseModelNameOrPath = OptionalString("base_model_name_or_path", null),
                Revision = OptionalString("revision", null),
            };
            (var list, var map) = TokenIndices();
            config = config with { TrainableTokenIndices = list, TrainableTokenIndicesByModule = map };
            if (config.LayerSelectionProblem() is { } problem) Error(problem.Field, problem.Message);
            foreach (var (field, isDefault, fix) in FixedFields)
            {
                if (!Has(field)) continue;
                if (!isDefault(_root[field])) Error(field, $"is {Show(_root[field])}, which this version cannot honour: {fix}.");
            }
            var extra = _root.Where(kv => !_used.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value?.DeepClone(), StringComparer.Ordinal);
            return config with { ExtraFields = extra };
        }

        private static string Show(JsonNode? n) => n is null ? "null" : n.ToJsonString();

        private static long? IntOf(JsonNode? n) =>
            n is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var l) ? l
            : n is JsonValue d && d.GetValueKind() == JsonValueKind.Number && d.TryGetValue<double>(out var x) && x == Math.Floor(x) && Math.Abs(x) < 1e15 ? (long)x
            : null;

        private static double? DoubleOf(JsonNode? n) =>
            n is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var d) && double.IsFinite(d) ? d : null;

        private int Int(string field, int fallback, int min)
        {
            if (!Has(field)) return fallback;
            var n = Get(field);
            if (IntOf(n) is { } v && v >= min && v <= int.MaxValue) return (int)v;
            Error(field, $"must be a whole number of at least {min} (found {Show(n)}).");
            return fallback;
        }

        private double Double(string field, double fallback)
        {
            if (!Has(field)) return fallback;
            var n = Get(field);
            if (DoubleOf(n) is { } v) return v;
            Error(field, $"must be a finite number (found {Show(n)}).");
            return fallback;
        }

        private bool Bool(string field, bool fallback)
        {
            if (!Has(field)) return fallback;
            var n = Get(field);
            if (n?.GetValueKind() is JsonValueKind.True) return true;
            if (n?.GetValueKind() is JsonValueKind.False) return false;
            Error(field, $"must be true or false (found {Show(n)}).");
            return fallback;
        }

        private string? OptionalString(string field, string? fallback)
        {
            if (!Has(field)) return fallback;
            var n = Get(field);
            if (n is null) return null;
            if (n.GetValueKind() == JsonValueKind.String) return (string)n!;
            Error(field, $"must be a string or null (found {Show(n)}).");
            return fallback;
        }

        private LoraTargets? Targets(string field)
        {
            var n = Get(field);
            switch (n)
            {
                case null: return null;
                case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                    var text = (string)v!;
                    if (text.Length == 0) { Error(field, "is an empty string; give module names, a regex, or all-linear."); return null; }
                    if (!string.Equals(text, LoraTargets.AllLinearText, StringComparison.OrdinalIgnoreCase))
                    {
                        try { _ = new System.Text.RegularExpressions.Regex(text); }
                        catch (ArgumentException e) { Error(field, $"is not a valid regular expression: {e.Message}"); return null; }
                    }
                    else if (field == "exclude_modules") { Error(field, "cannot be all-linear."); return null; }
                    return LoraTargets.FromString(text);
                case JsonArray a:
                    var names = new List<string>();
                    for (int i = 0; i < a.Count; i++)
                    {
                        if (a[i] is JsonValue s && s.GetValueKind() == JsonValueKind.String && ((string)s!).Length > 0) names.Add((string)s!);
                        else Error($"{field}[{i}]", $"must be a module name (found {Show(a[i])}).");
                    }
                    return LoraTargets.List(names.Distinct(StringComparer.Ordinal).ToList());
                default:
                    Error(field, $"must be a list of module names, a regex string or null (found {Show(n)}).");
                    return null;
            }
        }

        private string BiasField()
        {
            if (!Has("bias")) return "none";
            var n = Get("bias");
            if (n?.GetValueKind() == JsonValueKind.String && (string)n! == "none") return "none";
            Error("bias", $"is {Show(n)}, but only \"none\" is supported (training biases with LoRA is not implemented); set bias to \"none\".");
            return "none";
        }

        private LoraInit Init()
        {
            if (!Has("init_lora_weights")) return LoraInit.Default;
            var n = Get("init_lora_weights");
            switch (n?.GetValueKind())
            {
                case JsonValueKind.True: return LoraInit.Default;
                case JsonValueKind.False: return LoraInit.Random;
                case JsonValueKind.String when string.Equals((string)n!, "gaussian", StringComparison.OrdinalIgnoreCase): return LoraInit.Gaussian;
            }
            Error("init_lora_weights", $"is {Show(n)}; supported are true, false and \"gaussian\" (PiSSA, OLoRA, LoftQ, EVA and CorDA are not).");
            return LoraInit.Default;
        }

        private IReadOnlyList<int>? Layers()
        {
            var n = Get("layers_to_transform");
            if (n is null) return null;
            if (IntOf(n) is { } one && one >= 0 && one <= int.MaxValue) return new[] { (int)one };
            if (n is not JsonArray a)
            {
                Error("layers_to_transform", $"must be a layer index, a list of them, or null (found {Show(n)}).");
                return null;
            }
            var layers = new List<int>();
            for (int i = 0; i < a.Count; i++)
            {
                if (IntOf(a[i]) is { } v && v >= 0 && v <= int.MaxValue) layers.Add((int)v);
                else Error($"layers_to_transform[{i}]", $"must be a layer index of at least 0 (found {Show(a[i])}).");
            }
            return layers;
        }

        private IReadOnlyList<string>? LayersPatternField()
        {
            var n = Get("layers_pattern");
            switch (n)
            {
                case null: return null;
                case JsonValue v when v.GetValueKind() == JsonValueKind.String: return new[] { (string)v! };
                case JsonArray a when a.All(x => x is JsonValue s && s.GetValueKind() == JsonValueKind.String):
                    return a.Select(x => (string)x!).ToList();
                default:
                    Error("layers_pattern", $"must be a name, a list of names, or null (found {Show(n)}).");
                    return null;
            }
        }

        private IReadOnlyList<KeyValuePair<string, T>> Pattern<T>(string field, Func<JsonNode?, T?> value, string what) where T : struct
        {
            var n = Get(field);
            if (n is null) return Array.Empty<KeyValuePair<string, T>>();
            if (n is not JsonObject o)
            {
                Error(field, $"must be an object of module pattern to {what} (found {Show(n)}).");
                return Array.Empty<KeyValuePair<string, T>>();
            }
            var result = new List<KeyValuePair<string, T>>();
            foreach (var (key, node) in o)
            {
                if (value(node) is { } v) result.Add(new(key, v));
                else Error($"{field}.{key}", $"must be {what} (found {Show(node)}).");
            }
            return result;
        }

        private IReadOnlyList<string>? ModulesToSaveField()
        {
            const string field = "modules_to_save";
            var n = Get(field);
            if (n is null) return null;
            if (n is not JsonArray a)
            {
                Error(field, $"must be a list of module names or null (found {Show(n)}).");
                return null;
            }
            var names = new List<string>();
            for (int i = 0; i < a.Count; i++)
            {
                if (a[i] is JsonValue s && s.GetValueKind() == JsonValueKind.String && ((string)s!).Length > 0) names.Add((string)s!);
                else Error($"{field}[{i}]", $"must be a module name (found {Show(a[i])}).");
            }
            return names.Distinct(StringComparer.Ordinal).ToList();
        }

        private (IReadOnlyList<long>?, IReadOnlyList<KeyValuePair<string, IReadOnlyList<long>>>?) TokenIndices()
        {
            const string field = "trainable_token_indices";
            var n = Get(field);
            switch (n)
            {
                case null: return (null, null);
                case JsonArray a: return (Ids(field, a), null);
                case JsonObject o:
                    var map = new List<KeyValuePair<string, IReadOnlyList<long>>>();
                    foreach (var (key, node) in o)
                    {
                        if (node is JsonArray ids) map.Add(new(key, Ids($"{field}.{key}", ids)));
                        else Error($"{field}.{key}", $"must be a list of token ids (found {Show(node)}).");
                    }
                    return (null, map);
                default:
                    Error(field, $"must be a list of token ids or an object of module name to token ids (found {Show(n)}).");
                    return (null, null);
            }
        }

        private List<long> Ids(string field, JsonArray a)
        {
            var ids = new List<long>();
            var seen = new HashSet<long>();
            for (int i = 0; i < a.Count; i++)
            {
                if (IntOf(a[i]) is { } v && v >= 0)
                {
                    if (!seen.Add(v)) Error($"{field}[{i}]", $"repeats token id {v}; list each id once.");
                    ids.Add(v);
                }
                else Error($"{field}[{i}]", $"must be a token id of at least 0 (found {Show(a[i])}).");
            }
            return ids;
        }
    }
}
