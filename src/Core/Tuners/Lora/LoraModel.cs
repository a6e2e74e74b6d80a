using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using TorchSharp.Modules;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tuners.Lora;

/// <summary>
/// LoRA on a <see cref="CausalLanguageModel"/>: resolves target_modules against the model's projections
/// (<see cref="CausalLanguageModel.LinearLayers"/>) with PEFT's rules, wraps each in a <see cref="LoraLinear"/>, keeps
/// named adapters (add, activate, disable, delete), merges and unmerges, and puts the base layers back on dispose.
/// An adapter also holds what PEFT's LoraConfig adds beside the pairs: trainable_token_indices (rows of the embedding or
/// head, through the Trainable Tokens tuner, <see cref="Tokens"/>) and modules_to_save (full copies, <see cref="SavedModules"/>).
/// </summary>
public sealed class LoraModel : IDisposable
{
    /// <summary>PEFT's default targets when target_modules is null, for the decoders here (its model-type table).</summary>
    public static readonly IReadOnlyList<string> DefaultTargets = new[] { "q_proj", "v_proj" };

    private readonly Dictionary<string, LoraLinear> _layers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SavedModule> _saved = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<string>> _warnings = new(StringComparer.Ordinal);
    private readonly AdapterRegistry<LoraConfig> _registry = new();
    private readonly TrainableTokensModel _tokens;
    private bool _training;

    public LoraModel(CausalLanguageModel model)
    {
        Model = model;
        _tokens = new TrainableTokensModel(model);
    }

    public CausalLanguageModel Model { get; }
    public IReadOnlyList<string> ActiveAdapters => _registry.Active;
    public bool AdaptersEnabled => _registry.Enabled;
    public IReadOnlyDictionary<string, LoraConfig> Configs => _registry.Configs;
    /// <summary>The wrapped projections by module path.</summary>
    public IReadOnlyDictionary<string, LoraLinear> Layers => _layers;
    /// <summary>The adapters' trainable token rows (trainable_token_indices), by the Trainable Tokens tuner.</summary>
    public TrainableTokensModel Tokens => _tokens;
    /// <summary>The modules_to_save copies by module path.</summary>
    public IReadOnlyDictionary<string, SavedModule> SavedModules => _saved;
    /// <summary>What PEFT would warn about when each adapter was added (e.g. ensure_weight_tying on an untied model),
    /// for the caller to show; Core does not print.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Warnings => _warnings;

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

    private ITokenEmbedding BaseEmbedding => Unwrap(Model.InputEmbedding);
    private ILanguageModelHead BaseHead => Unwrap(Model.Head);

    private static ITokenEmbedding Unwrap(ITokenEmbedding e) => e switch
    {
        TrainableTokensEmbedding t => Unwrap(t.Base),
        SavedEmbedding s => Unwrap(s.Base),
        _ => e,
    };

    private static ILanguageModelHead Unwrap(ILanguageModelHead h) => h switch
    {
        TrainableTokensHead t => Unwrap(t.Base),
        SavedHead s => Unwrap(s.Base),
        _ => h,
    };

    /// <summary>
    /// The module paths <paramref name="config"/> targets, in model order, with PEFT's rules: exclude_modules first, then a
    /// list (suffix match, layers_to_transform applied) or a regex (full match) or all-linear (every projection; the LM
    /// head is not one). Errors name the field and list the modules that exist.
    /// </summary>
    public IReadOnlyList<string> ResolveTargets(LoraConfig config, string source = "adapter_config.json")
    {
        if (config.LayerSelectionProblem() is { } problem)
            throw new InvalidAdapterException($"'{source}': {problem.Field} {problem.Message}", source);
        var (matched, why) = LoraTargetResolver.Resolve(config, Model.LinearLayers.Paths.ToList(), Model.InputEmbedding.Path, Model.Head.Path);
        if (why is not null) throw new InvalidAdapterException($"'{source}': {why}", source);
        foreach (var path in matched)
            if (Model.LinearLayers[path] is { FanInFanOut: true })
                throw new InvalidAdapterException(
                    $"'{source}': target {path} is a Conv1D layer (GPT-2 style), and LoRA on Conv1D is not supported yet. Use a model with Linear projections.", source);
        return matched;
    }

    /// <summary>
    /// Adds adapter <paramref name="name"/> and makes it the active one: the LoRA pairs, the trainable token rows of
    /// trainable_token_indices (with PEFT's tied-weights table) and the modules_to_save copies. Everything is checked
    /// before any layer is wrapped, so a refused config leaves the model as it was. PEFT's warnings are in <see cref="Warnings"/>.
    /// </summary>
    public void AddAdapter(string name, LoraConfig config, Generator? generator = null, string source = "adapter_config.json")
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("An adapter needs a name.", nameof(name));
        if (_registry.Contains(name)) throw new ArgumentException($"There is already an adapter '{name}'; delete it first.", nameof(name));
        if (config.R < 1) throw new InvalidAdapterException($"'{source}': r is {config.R}; a LoRA rank must be at least 1.", source);
        var embedding = BaseEmbedding.Path;
        var head = BaseHead.Path;
        var tied = Model.Config.TieWordEmbeddings;
        var linears = Model.LinearLayers.Paths.ToList();
        var modules = TargetModuleMatcher.ModulePaths(Model.Weights.Keys, new[] { head });
        var saved = SavedModulePlan.Make(config.ModulesToSave, source, embedding, head, linears, modules, tied, config.EnsureWeightTying);
        var savedPaths = saved.TiedHeadPath is null ? saved.Paths : saved.Paths.Append(saved.TiedHeadPath).ToList();
        var loraNames = config.TargetModules ?? LoraTargets.List(DefaultTargets);
        var tokens = LoraTokenPlan.Make(config, source, embedding, head, tied, Model.Config.VocabSize, savedPaths,
            path => !loraNames.IsAllLinear && loraNames.Matches(path) && !ModuleMatch.InSavedModule(config.ModulesToSave ?? Array.Empty<string>(), path),
            key => modules.Any(m => m.EndsWith(key, StringComparison.Ordinal)));
        var targets = ResolveTargets(config, source);
        foreach (var path in targets)
            if (config.RankFor(path) < 1)
                throw new InvalidAdapterException($"'{source}': rank_pattern gives {path} rank {config.RankFor(path)}; a rank must be at least 1.", source);
        CheckAcrossAdapters(name, source, targets, savedPaths, tokens);
        var warnings = new List<string>();
        if (config.EnsureWeightTying && !tied && tokens is null)
            warnings.Add("ensure_weight_tying is true but the model does not tie its weights (tie_word_embeddings: false): no tied modules were found, so nothing is tied.");
        warnings.AddRange(saved.Warnings);
        if (tokens is not null) warnings.AddRange(tokens.Warnings);

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
        // PEFT's TrainableTokensWrapper starts the rows as copies of the current ones (init_weights true).
        if (tokens is not null) _tokens.AddTokenAdapter(name, tokens.Layout, initWeights: true, generator);
        AddCopies(name, saved, tied);
        _registry.Set(name, config.WithTargetsResolved());
        _warnings[name] = warnings;
        SetActiveAdapters(name);
    }

    /// <summary>One module holds one kind of adapter part: LoRA, trainable rows or a saved copy (PEFT refuses a training
    /// wrapper over a LoRA layer and LoRA inside a saved module).</summary>
    private void CheckAcrossAdapters(string name, string source, IReadOnlyList<string> targets, IReadOnlyList<string> savedPaths, LoraTokenPlan.Plan? tokens)
    {
        var tokenPaths = tokens?.Layout.Layers.Select(l => l.Key).ToList() ?? new List<string>();
        if (tokens is { Layout.HeadFollowsEmbedding: true }) tokenPaths.Add(BaseHead.Path);
        string? Owner(string path, string kind)
        {
            if (kind != "LoRA" && _layers.TryGetValue(path, out var l) && l.Adapters.Count > 0) return $"a LoRA layer of adapter '{l.Adapters.Keys.First()}'";
            if (kind != "saved" && _saved.TryGetValue(path, out var s) && s.Copies.Count > 0) return $"a modules_to_save copy of adapter '{s.Copies.Keys.First()}'";
            if (kind != "tokens" && TokenOwner(path) is { } t) return $"trainable token rows of adapter '{t}'";
            return null;
        }
        foreach (var (paths, kind, what) in new[] { (targets, "LoRA", "a LoRA layer"), (savedPaths, "saved", "a modules_to_save copy"), ((IReadOnlyList<string>)tokenPaths, "tokens", "trainable token rows") })
            foreach (var path in paths)
                if (Owner(path, kind) is { } owner)
                    throw new InvalidAdapterException(
                        $"'{source}': adapter '{name}' would give {path} {what}, but it already holds {owner}; one module takes one kind of adapter part. " +
                        "Delete the other adapter first, or leave this module out.", source);
    }

    private string? TokenOwner(string path)
    {
        if (_tokens.Layers.TryGetValue(path, out var layer) && layer.Adapters.Count > 0) return layer.Adapters.Keys.First();
        if (path == BaseHead.Path && Model.Config.TieWordEmbeddings)
            return _tokens.Layouts.FirstOrDefault(l => l.Value.HeadFollowsEmbedding).Key;
        return null;
    }

    private void AddCopies(string name, SavedModulePlan plan, bool tied)
    {
        SavedCopy? embeddingCopy = null;
        foreach (var path in plan.Paths)
        {
            // A tied weight is shared with the other side unless that side follows this copy.
            var isEmbedding = path == BaseEmbedding.Path;
            var shared = tied && (isEmbedding || path == BaseHead.Path) && !(isEmbedding && plan.TiedHeadPath is not null);
            var module = Saved(path, shared);
            var copy = module.Add(name);
            if (isEmbedding) embeddingCopy = copy;
        }
        if (plan.TiedHeadPath is { } headPath) Saved(headPath, false).Add(name, embeddingCopy);
    }

    private SavedModule Saved(string path, bool shared)
    {
        if (_saved.TryGetValue(path, out var module)) return module;
        if (path == BaseEmbedding.Path)
        {
            module = new SavedModule(path, BaseEmbedding.Weight, null, shared);
            Model.InputEmbedding = new SavedEmbedding(Model.InputEmbedding, module);
        }
        else if (path == BaseHead.Path)
        {
            module = new SavedModule(path, BaseHead.Weight, BaseHead.Bias, shared);
            Model.Head = new SavedHead(Model.Head, module);
        }
        else
        {
            var linear = Model.LinearLayers[path];
            module = new SavedModule(path, linear.Weight, linear.Bias, shared);
            Model.LinearLayers[path] = new SavedLinear(linear, module);
        }
        _saved[path] = module;
        return module;
    }

    /// <summary>Activates the given adapters: their pairs add up; their token rows must be disjoint; a module's saved copy
    /// can come from one active adapter only (PEFT's "only one adapter can be set at a time" for modules_to_save).</summary>
    public void SetActiveAdapters(params string[] names)
    {
        _registry.Require(names);
        var active = names.Distinct().ToList();
        foreach (var module in _saved.Values)
        {
            var holders = active.Where(module.Copies.ContainsKey).ToList();
            if (holders.Count > 1)
                throw new InvalidAdapterException(
                    $"Adapters {string.Join(" and ", holders.Select(h => $"'{h}'"))} both hold a modules_to_save copy of {module.Path}; only one of them can be active at a time.", holders[1]);
        }
        _tokens.SetActiveAdapters(active.Where(_tokens.Layouts.ContainsKey).ToArray());
        _registry.SetActive(active);
        foreach (var l in _layers.Values)
        {
            l.Active = active;
            l.Disabled = false;
        }
        foreach (var module in _saved.Values)
        {
            module.Active = active.FirstOrDefault(module.Copies.ContainsKey);
            module.Enabled = true;
        }
    }

    /// <summary>Base-model behaviour: merged parts are taken out of the weights first, so outputs equal the base model's.</summary>
    public void DisableAdapters()
    {
        Unmerge();
        _registry.Enabled = false;
        foreach (var l in _layers.Values) l.Disabled = true;
        _tokens.DisableAdapters();
        foreach (var m in _saved.Values) m.Enabled = false;
    }

    public void EnableAdapters()
    {
        _registry.Enabled = true;
        foreach (var l in _layers.Values) l.Disabled = false;
        _tokens.EnableAdapters();
        foreach (var m in _saved.Values) m.Enabled = true;
    }

    /// <summary>Removes an adapter (unmerging first); layers left without adapters get their base layer back.</summary>
    public void DeleteAdapter(string name)
    {
        _registry.Get(name);
        if (_layers.Values.Any(l => l.MergedAdapters.Contains(name)) || _tokens.Layers.Values.Any(l => l.MergedAdapters.Contains(name))
            || _saved.Values.Any(m => m.Merged == name))
            Unmerge();
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
        if (_tokens.Layouts.ContainsKey(name))
        {
            _tokens.DeleteAdapter(name);
            _tokens.DropUnused();
        }
        // Tied copies first: they share the embedding copy's tensor.
        foreach (var module in _saved.Values.OrderBy(m => m.Copies.TryGetValue(name, out var c) && c.TiedTo is not null ? 0 : 1).ToList())
        {
            module.Remove(name);
            if (module.Copies.Count == 0) Unwrap(module);
        }
        _registry.Remove(name, promoteFirst: true);
        _warnings.Remove(name);
        // As PEFT: deleting the active adapter makes the first one left active.
        var enabled = _registry.Enabled;
        SetActiveAdapters(_registry.Active.ToArray());
        if (!enabled) DisableAdapters();
    }

    private void Unwrap(SavedModule module)
    {
        if (Model.InputEmbedding is SavedEmbedding e && e.Module == module) Model.InputEmbedding = e.Base;
        else if (Model.Head is SavedHead h && h.Module == module) Model.Head = h.Base;
        else if (Model.LinearLayers.Contains(module.Path) && Model.LinearLayers[module.Path] is SavedLinear l && l.Module == module) Model.LinearLayers[module.Path] = l.Base;
        module.Dispose();
        _saved.Remove(module.Path);
    }

    /// <summary>The tensors an optimizer updates for <paramref name="name"/>: A and B of each targeted layer in model
    /// order, then the trainable token rows, then the modules_to_save copies (a tied copy once).</summary>
    public IReadOnlyList<Parameter> TrainableParameters(string name)
    {
        var list = _layers.Values.Where(l => l.Adapters.ContainsKey(name)).SelectMany(l => new[] { l.Adapters[name].A, l.Adapters[name].B }).ToList();
        list.AddRange(_tokens.TrainableParameters(name));
        foreach (var m in _saved.Values)
            if (m.Copies.TryGetValue(name, out var c) && c.TiedTo is null)
            {
                list.Add(c.Weight);
                if (c.Bias is not null) list.Add(c.Bias);
            }
        return list;
    }

    /// <summary>The number of trainable values of adapter <paramref name="name"/>.</summary>
    public long TrainableParameterCount(string name) => TrainableParameters(name).Sum(p => p.numel());

    /// <summary>Adds the active (or given) adapters into the base weights; with <paramref name="safe"/> nothing is written
    /// if any result is not finite.</summary>
    public void Merge(bool safe = false, IReadOnlyList<string>? names = null)
    {
        var toMerge = (names ?? _registry.Active).ToList();
        _registry.Require(toMerge);
        if (safe)
        {
            // Check every part before writing any, so a refusal leaves every weight unchanged.
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            foreach (var l in _layers.Values)
                foreach (var n in toMerge.Where(l.Adapters.ContainsKey))
                    if (!TokenIndexCheck.AllFinite(l.Weight.to(ScalarType.Float32).add(l.Adapters[n].Delta())))
                        throw new InvalidAdapterException(
                            $"Merging adapter '{n}' would put NaN or infinite values into {l.Path}; the merge was refused and no weight was changed.", n);
            _tokens.EnsureFinite(toMerge.Where(_tokens.Layouts.ContainsKey).ToList());
            foreach (var m in _saved.Values)
                foreach (var n in toMerge.Where(n => !m.IsFinite(n)))
                    throw new InvalidAdapterException(
                        $"Adapter '{n}' has NaN or infinite values in its modules_to_save copy of {m.Path}; the merge was refused and no weight was changed.", n);
        }
        foreach (var l in _layers.Values) l.Merge(toMerge, safe: false);
        _tokens.Merge(safe: false, names: toMerge.Where(_tokens.Layouts.ContainsKey).ToList());
        // A module holds one merged copy: the first adapter to merge that has one there.
        foreach (var m in _saved.Values)
            if (toMerge.FirstOrDefault(m.Copies.ContainsKey) is { } n) m.Merge(n);
    }

    public void Unmerge()
    {
        foreach (var m in _saved.Values) m.Unmerge();
        _tokens.Unmerge();
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
        foreach (var module in _saved.Values.ToList()) Unwrap(module);
        _tokens.Dispose();
        _registry.Clear();
        _warnings.Clear();
    }
}
