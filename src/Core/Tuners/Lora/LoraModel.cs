using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using TorchSharp.Modules;
using TrainableTokens.Core.Models;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tuners.Lora;

/// <summary>
/// LoRA on a <see cref="CausalLanguageModel"/>: resolves target_modules against the model's projections
/// (<see cref="CausalLanguageModel.LinearLayers"/>) with PEFT's rules, wraps each in a <see cref="LoraLinear"/>, keeps
/// named adapters (add, activate, disable, delete), merges and unmerges, and puts the base layers back on dispose.
/// </summary>
public sealed class LoraModel : IDisposable
{
    /// <summary>PEFT's default targets when target_modules is null, for the decoders here (its model-type table).</summary>
    public static readonly IReadOnlyList<string> DefaultTargets = new[] { "q_proj", "v_proj" };

    private readonly Dictionary<string, LoraLinear> _layers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LoraConfig> _configs = new(StringComparer.Ordinal);
    private List<string> _active = new();
    private bool _training;

    public LoraModel(CausalLanguageModel model)
    {
        Model = model;
    }

    public CausalLanguageModel Model { get; }
    public IReadOnlyList<string> ActiveAdapters => _active;
    public bool AdaptersEnabled { get; private set; } = true;
    public IReadOnlyDictionary<string, LoraConfig> Configs => _configs;
    /// <summary>The wrapped projections by module path.</summary>
    public IReadOnlyDictionary<string, LoraLinear> Layers => _layers;

    /// <summary>Dropout is applied only while training.</summary>
    public bool Training
    {
        get => _training;
        set
        {
            _training = value;
            foreach (var l in _layers.Values) l.Training = value;
        }
    }

    /// <summary>
    /// The module paths <paramref name="config"/> targets, in model order, with PEFT's rules: exclude_modules first, then a
    /// list (suffix match, layers_to_transform applied) or a regex (full match) or all-linear (every projection; the LM
    /// head is not one). Errors name the field and list the modules that exist.
    /// </summary>
    public IReadOnlyList<string> ResolveTargets(LoraConfig config, string source = "adapter_config.json")
    {
        var paths = Model.LinearLayers.Paths.ToList();
        if (config.LayerSelectionProblem() is { } problem)
            throw new InvalidAdapterException($"'{source}': {problem.Field} {problem.Message}", source);
        var targets = config.TargetModules ?? LoraTargets.List(DefaultTargets);
        var embedding = Model.InputEmbedding.Path;
        var head = Model.Head.Path;
        if (!targets.IsAllLinear && (targets.Matches(embedding) || targets.Matches(head)))
            throw new InvalidAdapterException(
                $"'{source}': target_modules {targets} names {(targets.Matches(embedding) ? embedding : head)}, but LoRA on the embedding or the LM head is not supported yet. " +
                "Target the projections, and use trainable_token_indices for new tokens.", source);
        var matched = new List<string>();
        var excluded = 0;
        foreach (var path in paths)
        {
            if (!targets.Matches(path)) continue;
            if (config.ExcludeModules?.Matches(path) == true) { excluded++; continue; }
            if (!targets.IsList || targets.Names!.Contains(path) || InLayers(config, path)) matched.Add(path);
        }
        if (matched.Count == 0)
        {
            var why = excluded > 0 ? $"every module it matches is excluded by exclude_modules {config.ExcludeModules}"
                : config.LayersToTransform is not null && targets.IsList ? $"nothing in layers_to_transform [{string.Join(", ", config.LayersToTransform)}] matches"
                : "no module matches";
            throw new InvalidAdapterException(
                $"'{source}': target_modules {targets} was not found in the base model ({why}). The model's projections are: {Listing(paths)}. " +
                "Name some of them (a suffix such as q_proj, a full-path regex, or all-linear).", source);
        }
        foreach (var path in matched)
            if (Model.LinearLayers[path] is { FanInFanOut: true })
                throw new InvalidAdapterException(
                    $"'{source}': target {path} is a Conv1D layer (GPT-2 style), and LoRA on Conv1D is not supported yet. Use a model with Linear projections.", source);
        return matched;
    }

    /// <summary>PEFT's layer index: the number after the layers_pattern name (or after any name) in the path.</summary>
    private static bool InLayers(LoraConfig config, string path)
    {
        if (config.LayersToTransform is not { Count: > 0 } layers) return true;
        Match? m = null;
        if (config.LayersPattern is not { Count: > 0 } patterns)
            m = Regex.Match(path, @"^.*\.[^.]*\.(\d+)\.", RegexOptions.None, TimeSpan.FromSeconds(1));
        else
            foreach (var p in patterns)
                if ((m = Regex.Match(path, $@"^.*\.{p}\.(\d+)\.", RegexOptions.None, TimeSpan.FromSeconds(1))).Success) break;
        return m is { Success: true } && int.TryParse(m.Groups[1].Value, out var index) && layers.Contains(index);
    }

    private static string Listing(IReadOnlyList<string> paths)
    {
        const int shown = 12;
        var list = string.Join(", ", paths.Take(shown));
        return paths.Count > shown ? $"{list} ... and {paths.Count - shown} more" : list;
    }

    /// <summary>Adds adapter <paramref name="name"/> and makes it the active one. Targets and ranks are checked before any
    /// layer is wrapped, so a refused config leaves the model as it was.</summary>
    public void AddAdapter(string name, LoraConfig config, Generator? generator = null, string source = "adapter_config.json")
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("An adapter needs a name.", nameof(name));
        if (_configs.ContainsKey(name)) throw new ArgumentException($"There is already an adapter '{name}'; delete it first.", nameof(name));
        if (config.R < 1) throw new InvalidAdapterException($"'{source}': r is {config.R}; a LoRA rank must be at least 1.", source);
        var targets = ResolveTargets(config, source);
        foreach (var path in targets)
            if (config.RankFor(path) < 1)
                throw new InvalidAdapterException($"'{source}': rank_pattern gives {path} rank {config.RankFor(path)}; a rank must be at least 1.", source);
        foreach (var path in targets)
        {
            if (!_layers.TryGetValue(path, out var layer))
            {
                layer = new LoraLinear(Model.LinearLayers[path]) { Training = _training };
                _layers[path] = layer;
                Model.LinearLayers[path] = layer;
            }
            int r = config.RankFor(path);
            layer.Add(name, r, config.Scaling(r, config.AlphaFor(path)), config.LoraDropout, config.InitLoraWeights, generator);
        }
        _configs[name] = config;
        SetActiveAdapters(name);
    }

    public void SetActiveAdapters(params string[] names)
    {
        foreach (var n in names)
            if (!_configs.ContainsKey(n))
                throw new ArgumentException($"There is no adapter '{n}'. Adapters: {string.Join(", ", _configs.Keys)}.", nameof(names));
        _active = names.Distinct().ToList();
        AdaptersEnabled = true;
        foreach (var l in _layers.Values)
        {
            l.Active = _active;
            l.Disabled = false;
        }
    }

    /// <summary>Base-model behaviour: merged deltas are taken out of the weights first.</summary>
    public void DisableAdapters()
    {
        Unmerge();
        AdaptersEnabled = false;
        foreach (var l in _layers.Values) l.Disabled = true;
    }

    public void EnableAdapters()
    {
        AdaptersEnabled = true;
        foreach (var l in _layers.Values) l.Disabled = false;
    }

    /// <summary>Removes an adapter (unmerging first); layers left without adapters get their base layer back.</summary>
    public void DeleteAdapter(string name)
    {
        if (!_configs.Remove(name)) throw new ArgumentException($"There is no adapter '{name}'.", nameof(name));
        if (_layers.Values.Any(l => l.MergedAdapters.Contains(name))) Unmerge();
        foreach (var (path, layer) in _layers.ToList())
        {
            layer.Remove(name);
            if (layer.Adapters.Count == 0)
            {
                Model.LinearLayers[path] = layer.Base;
                layer.Dispose();
                _layers.Remove(path);
            }
        }
        _active.Remove(name);
        // As PEFT: deleting the active adapter makes the first one left active.
        if (_active.Count == 0 && _configs.Count > 0) _active.Add(_configs.Keys.First());
        foreach (var l in _layers.Values) l.Active = _active;
    }

    /// <summary>The tensors an optimizer updates for <paramref name="name"/>: A and B of each targeted layer, in model order.</summary>
    public IReadOnlyList<Parameter> TrainableParameters(string name) =>
        _layers.Values.Where(l => l.Adapters.ContainsKey(name)).SelectMany(l => new[] { l.Adapters[name].A, l.Adapters[name].B }).ToList();

    /// <summary>The number of trainable values of adapter <paramref name="name"/>.</summary>
    public long TrainableParameterCount(string name) => TrainableParameters(name).Sum(p => p.numel());

    /// <summary>Adds the active (or given) adapters into the base weights; with <paramref name="safe"/> nothing is written if any result is not finite.</summary>
    public void Merge(bool safe = false, IReadOnlyList<string>? names = null)
    {
        var toMerge = (names ?? _active).ToList();
        foreach (var n in toMerge)
            if (!_configs.ContainsKey(n)) throw new ArgumentException($"There is no adapter '{n}'.", nameof(names));
        if (safe)
        {
            // Check every layer before writing any, so a refusal leaves every weight unchanged.
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            foreach (var l in _layers.Values)
                foreach (var n in toMerge.Where(l.Adapters.ContainsKey))
                    if (!l.Weight.to(ScalarType.Float32).add(l.Adapters[n].Delta()).isfinite().all().item<bool>())
                        throw new InvalidAdapterException(
                            $"Merging adapter '{n}' would put NaN or infinite values into {l.Path}; the merge was refused and no weight was changed.", n);
        }
        foreach (var l in _layers.Values) l.Merge(toMerge, safe: false);
    }

    public void Unmerge()
    {
        foreach (var l in _layers.Values) l.Unmerge();
    }

    /// <summary>Unmerges, puts every base layer back and frees the adapters: the model is the base model again.</summary>
    public void Dispose()
    {
        Unmerge();
        foreach (var (path, layer) in _layers)
        {
            Model.LinearLayers[path] = layer.Base;
            layer.Dispose();
        }
        _layers.Clear();
        _configs.Clear();
        _active.Clear();
    }
}
