using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using TrainableTokens.Core.Models;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tuners.TrainableTokens;

/// <summary>
/// Trainable Tokens on a <see cref="CausalLanguageModel"/>: finds the targeted modules, wraps them, keeps named
/// adapters (add, activate, disable, delete), ties the LM head to the embedding's rows when the model ties its
/// weights, and merges, unmerges or unloads. Semantics follow PEFT's tuners/trainable_tokens.
/// </summary>
public sealed class TrainableTokensModel : IDisposable
{
    private readonly Dictionary<string, TrainableTokensLayer> _layers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TrainableTokensAdapterConfig> _configs = new(StringComparer.Ordinal);
    private List<string> _active = new();

    public TrainableTokensModel(CausalLanguageModel model)
    {
        Model = model;
    }

    public CausalLanguageModel Model { get; }
    public IReadOnlyList<string> ActiveAdapters => _active;
    public bool AdaptersEnabled { get; private set; } = true;
    public IReadOnlyDictionary<string, TrainableTokensAdapterConfig> Configs => _configs;

    /// <summary>The layers by module path (a tied head that follows the embedding has none of its own).</summary>
    public IReadOnlyDictionary<string, TrainableTokensLayer> Layers => _layers;

    /// <summary>Embedding-like modules the model has: where trainable tokens can go.</summary>
    public IReadOnlyList<string> EmbeddingModules => new[] { BaseEmbedding.Path, BaseHead.Path };

    private ITokenEmbedding BaseEmbedding => Model.InputEmbedding is TrainableTokensEmbedding t ? t.Base : Model.InputEmbedding;
    private ILanguageModelHead BaseHead => Model.Head is TrainableTokensHead h ? h.Base : Model.Head;

    /// <summary>
    /// Adds adapter <paramref name="name"/> and makes it the active one. Everything is checked before any tensor is
    /// touched: the targets exist, the token ids are below the vocabulary size and not repeated.
    /// </summary>
    public void AddAdapter(string name, TrainableTokensAdapterConfig config, Generator? generator = null)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("An adapter needs a name.", nameof(name));
        var targets = TargetsOf(config).Layers;
        CheckTokenIndices(config.TokenIndices, name);
        // PEFT saves an inferred target as the module's full name, a string it treats as a regex.
        config = config.TargetModules is null ? config with { TargetModules = TargetModules.Regex(BaseEmbedding.Path) } : config;
        var indices = config.TokenIndices.ToArray();
        foreach (var path in targets)
        {
            if (!_layers.TryGetValue(path, out var layer))
            {
                var weight = path == BaseEmbedding.Path ? BaseEmbedding.Weight : BaseHead.Weight;
                layer = new TrainableTokensLayer(path, weight);
                _layers[path] = layer;
            }
            layer.Add(name, indices, config.InitWeights, generator);
        }
        _configs[name] = config;
        Wrap();
        SetActiveAdapters(name);
    }

    /// <summary>Activates the given adapters (one or several); they must train disjoint token ids.</summary>
    public void SetActiveAdapters(params string[] names)
    {
        foreach (var n in names)
            if (!_configs.ContainsKey(n))
                throw new ArgumentException($"There is no adapter '{n}'. Adapters: {string.Join(", ", _configs.Keys)}.", nameof(names));
        CheckDisjoint(names.Distinct().ToList());
        _active = names.Distinct().ToList();
        AdaptersEnabled = true;
    }

    /// <summary>Base-model behaviour: merged rows are restored first, so outputs equal the base model's bit for bit.</summary>
    public void DisableAdapters()
    {
        Unmerge();
        AdaptersEnabled = false;
    }

    public void EnableAdapters() => AdaptersEnabled = true;

    public void DeleteAdapter(string name)
    {
        if (!_configs.Remove(name)) throw new ArgumentException($"There is no adapter '{name}'.", nameof(name));
        foreach (var layer in _layers.Values)
        {
            if (layer.MergedAdapters.Contains(name))
                throw new InvalidOperationException($"Adapter '{name}' is merged; unmerge before deleting it.");
            layer.Remove(name);
        }
        _active.Remove(name);
    }

    /// <summary>The tensors an optimizer should update for <paramref name="name"/>: one [k, hidden] row block per layer.</summary>
    public IReadOnlyList<Parameter> TrainableParameters(string name) =>
        _layers.Values.Where(l => l.Adapters.ContainsKey(name)).Select(l => l.Adapters[name].Values).ToList();

    /// <summary>Writes the active (or given) adapters' rows into the base weights. Once merged, forward reads the merged
    /// weights and ignores other active adapters, as in PEFT.</summary>
    public void Merge(bool safe = false, IReadOnlyList<string>? names = null)
    {
        var toMerge = (names ?? _active).ToList();
        var alreadyMerged = _layers.Values.SelectMany(l => l.MergedAdapters).Distinct().ToList();
        CheckDisjoint(alreadyMerged.Concat(toMerge).Distinct().ToList());
        if (safe)
        {
            // Check every layer before writing into any, so a refusal leaves all weights untouched.
            foreach (var layer in _layers.Values)
                foreach (var n in toMerge.Where(layer.Adapters.ContainsKey))
                    using (var finite = layer.Adapters[n].Values.isfinite().all())
                        if (!finite.item<bool>())
                            throw new InvalidAdapterException(
                                $"Adapter '{n}' has NaN or infinite values for {layer.Path}; the merge was refused and every weight is unchanged. Retrain the adapter.", n);
        }
        foreach (var layer in _layers.Values) layer.Merge(toMerge, safe: false);
    }

    public void Unmerge()
    {
        foreach (var layer in _layers.Values) layer.Unmerge();
    }

    /// <summary>Merges the active adapters and removes every wrapper: a plain model again, with a tied head still tied.</summary>
    public CausalLanguageModel MergeAndUnload(bool safe = false)
    {
        Merge(safe);
        Model.InputEmbedding = BaseEmbedding;
        Model.Head = BaseHead;
        foreach (var layer in _layers.Values) layer.Dispose();
        _layers.Clear();
        _configs.Clear();
        _active.Clear();
        return Model;
    }

    private void Wrap()
    {
        var embeddingLayer = _layers.GetValueOrDefault(BaseEmbedding.Path);
        if (embeddingLayer is not null && Model.InputEmbedding is not TrainableTokensEmbedding)
            Model.InputEmbedding = new TrainableTokensEmbedding(BaseEmbedding, embeddingLayer, this);
        if (HeadLayers.Count > 0 && Model.Head is not TrainableTokensHead)
            Model.Head = new TrainableTokensHead(BaseHead, this);
    }

    /// <summary>
    /// The layers whose rows the LM head shows: its own (an untied head targeted explicitly, or lm_head alone on a tied
    /// model, as PEFT wraps it), and with tied weights the embedding's, whose rows the head shares.
    /// </summary>
    internal IReadOnlyList<TrainableTokensLayer> HeadLayers
    {
        get
        {
            var layers = new List<TrainableTokensLayer>(2);
            if (Model.Config.TieWordEmbeddings && _layers.TryGetValue(BaseEmbedding.Path, out var embedding)) layers.Add(embedding);
            if (_layers.TryGetValue(BaseHead.Path, out var head)) layers.Add(head);
            return layers;
        }
    }

    /// <summary>Which layers <paramref name="config"/> trains on this model (<see cref="TokenTargets"/>, the rule every command shares).</summary>
    public TokenTargets TargetsOf(TrainableTokensAdapterConfig config) =>
        TokenTargets.Resolve(config.TargetModules, BaseEmbedding.Path, BaseHead.Path, Model.Config.TieWordEmbeddings)
        ?? throw new InvalidAdapterException(
            $"target_modules {config.TargetModules} matches none of the model's embedding modules ({string.Join(", ", EmbeddingModules)}). " +
            $"Use one of those, or leave target_modules empty for the input embedding ({BaseEmbedding.Path}).", config.TargetModules?.ToString());

    private void CheckTokenIndices(IReadOnlyList<long> indices, string name)
    {
        if (indices.Count == 0)
            throw new InvalidAdapterException($"Adapter '{name}' has no token indices; give at least one token id to train.", name);
        long vocab = Model.Config.VocabSize;
        var outside = indices.Where(i => i < 0 || i >= vocab).Distinct().ToList();
        if (outside.Count > 0)
            throw new InvalidAdapterException(
                $"Adapter '{name}': token indices {string.Join(", ", outside.Take(10))} are outside the vocabulary (0 to {vocab - 1}). " +
                "Add the tokens to the tokenizer and resize the model first (Add-TokenizerToken), or fix the ids.", name);
        var repeated = indices.GroupBy(i => i).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (repeated.Count > 0)
            throw new InvalidAdapterException($"Adapter '{name}': token indices {string.Join(", ", repeated.Take(10))} are listed more than once; list each id once.", name);
    }

    private void CheckDisjoint(IReadOnlyList<string> names)
    {
        var seen = new Dictionary<long, string>();
        foreach (var n in names)
        {
            var overlap = new List<long>();
            string? other = null;
            foreach (var id in _configs[n].TokenIndices)
            {
                if (seen.TryGetValue(id, out var owner)) { overlap.Add(id); other ??= owner; }
            }
            if (overlap.Count > 0) throw new AdapterConflictException(n, other!, overlap);
            foreach (var id in _configs[n].TokenIndices) seen[id] = n;
        }
    }

    /// <summary>Removes the wrappers (the model keeps any merged rows) and frees the adapters' tensors.</summary>
    public void Dispose()
    {
        Model.InputEmbedding = BaseEmbedding;
        Model.Head = BaseHead;
        foreach (var layer in _layers.Values) layer.Dispose();
        _layers.Clear();
    }
}
