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
/// weights, and merges, unmerges or unloads. Semantics follow PEFT's tuners/trainable_tokens. LoRA's
/// trainable_token_indices use the same rows through <see cref="AddTokenAdapter"/>.
/// </summary>
public sealed class TrainableTokensModel : IDisposable
{
    private readonly Dictionary<string, TrainableTokensLayer> _layers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TrainableTokensAdapterConfig> _configs = new(StringComparer.Ordinal);
    private readonly AdapterRegistry<TokenLayout> _registry = new();

    public TrainableTokensModel(CausalLanguageModel model)
    {
        Model = model;
    }

    public CausalLanguageModel Model { get; }
    public IReadOnlyList<string> ActiveAdapters => _registry.Active;
    public bool AdaptersEnabled => _registry.Enabled;
    /// <summary>The Trainable Tokens adapters' configs (rows added for a LoRA adapter have a <see cref="Layouts"/> entry only).</summary>
    public IReadOnlyDictionary<string, TrainableTokensAdapterConfig> Configs => _configs;
    /// <summary>Every adapter's rows by module path.</summary>
    public IReadOnlyDictionary<string, TokenLayout> Layouts => _registry.Configs;

    /// <summary>The layers by module path (a tied head that follows the embedding has none of its own).</summary>
    public IReadOnlyDictionary<string, TrainableTokensLayer> Layers => _layers;

    /// <summary>Embedding-like modules the model has: where trainable tokens can go.</summary>
    public IReadOnlyList<string> EmbeddingModules => new[] { BaseEmbedding.Path, BaseHead.Path };

    internal ITokenEmbedding BaseEmbedding => Model.InputEmbedding is TrainableTokensEmbedding t ? t.Base : Model.InputEmbedding;
    internal ILanguageModelHead BaseHead => Model.Head is TrainableTokensHead h ? h.Base : Model.Head;

    /// <summary>
    /// Adds adapter <paramref name="name"/> and makes it the active one. Everything is checked before any tensor is
    /// touched: the targets exist, the token ids are below the vocabulary size and not repeated.
    /// </summary>
    public void AddAdapter(string name, TrainableTokensAdapterConfig config, Generator? generator = null)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("An adapter needs a name.", nameof(name));
        var targets = TargetsOf(config);
        TokenIndexCheck.Ensure(config.TokenIndices, Model.Config.VocabSize, name);
        config = config.WithTargetsResolved(BaseEmbedding.Path);
        AddRows(name, TokenLayout.Same(targets.Layers, config.TokenIndices.ToArray(), targets.HeadFollowsEmbedding), config.InitWeights, generator);
        _configs[name] = config;
        SetActiveAdapters(name);
    }

    /// <summary>
    /// Adds the rows of <paramref name="layout"/> as adapter <paramref name="name"/> without activating it (LoRA's
    /// trainable_token_indices: the LoRA model activates its adapters as a whole). Paths must be the input embedding
    /// or the LM head; ids are checked as for <see cref="AddAdapter"/>.
    /// </summary>
    public void AddTokenAdapter(string name, TokenLayout layout, bool initWeights = true, Generator? generator = null)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("An adapter needs a name.", nameof(name));
        foreach (var (path, ids) in layout.Layers)
        {
            if (path != BaseEmbedding.Path && path != BaseHead.Path)
                throw new InvalidAdapterException(
                    $"Adapter '{name}': '{path}' is not one of the model's embedding modules ({string.Join(", ", EmbeddingModules)}); trainable tokens go only there.", name);
            TokenIndexCheck.Ensure(ids, Model.Config.VocabSize, name, $"token indices for {path}");
        }
        AddRows(name, layout, initWeights, generator);
    }

    private void AddRows(string name, TokenLayout layout, bool initWeights, Generator? generator)
    {
        foreach (var (path, ids) in layout.Layers)
        {
            if (!_layers.TryGetValue(path, out var layer))
            {
                var weight = path == BaseEmbedding.Path ? BaseEmbedding.Weight : BaseHead.Weight;
                layer = new TrainableTokensLayer(path, weight);
                _layers[path] = layer;
            }
            layer.Add(name, ids.ToArray(), initWeights, generator);
        }
        _registry.Set(name, layout);
        Wrap();
    }

    /// <summary>Activates the given adapters (none, one or several); they must train disjoint token ids.</summary>
    public void SetActiveAdapters(params string[] names)
    {
        _registry.Require(names);
        CheckDisjoint(names.Distinct().ToList());
        _registry.SetActive(names);
    }

    /// <summary>Base-model behaviour: merged rows are restored first, so outputs equal the base model's bit for bit.</summary>
    public void DisableAdapters()
    {
        Unmerge();
        _registry.Enabled = false;
    }

    public void EnableAdapters() => _registry.Enabled = true;

    public void DeleteAdapter(string name)
    {
        _registry.Get(name);
        if (_layers.Values.Any(l => l.MergedAdapters.Contains(name)))
            throw new InvalidOperationException($"Adapter '{name}' is merged; unmerge before deleting it.");
        foreach (var layer in _layers.Values) layer.Remove(name);
        _registry.Remove(name, promoteFirst: false);
        _configs.Remove(name);
    }

    /// <summary>Drops the layers no adapter uses any more and the wrappers nothing needs (LoRA deleting its last token rows):
    /// the model's own embedding and head are back in place.</summary>
    internal void DropUnused()
    {
        foreach (var (path, layer) in _layers.ToList())
        {
            if (layer.Adapters.Count > 0) continue;
            layer.Dispose();
            _layers.Remove(path);
        }
        if (!_layers.ContainsKey(BaseEmbedding.Path) && Model.InputEmbedding is TrainableTokensEmbedding embedding) Model.InputEmbedding = embedding.Base;
        var headShowsRows = _layers.ContainsKey(BaseHead.Path) || (Model.Config.TieWordEmbeddings && _layers.ContainsKey(BaseEmbedding.Path) && _registry.Configs.Values.Any(l => l.HeadFollowsEmbedding));
        if (!headShowsRows && Model.Head is TrainableTokensHead head) Model.Head = head.Base;
    }

    /// <summary>The tensors an optimizer should update for <paramref name="name"/>: one [k, hidden] row block per layer.</summary>
    public IReadOnlyList<Parameter> TrainableParameters(string name) =>
        _layers.Values.Where(l => l.Adapters.ContainsKey(name)).Select(l => l.Adapters[name].Values).ToList();

    /// <summary>Writes the active (or given) adapters' rows into the base weights. Once merged, forward reads the merged
    /// weights and ignores other active adapters, as in PEFT.</summary>
    public void Merge(bool safe = false, IReadOnlyList<string>? names = null)
    {
        var toMerge = (names ?? _registry.Active).Where(_registry.Contains).ToList();
        var alreadyMerged = _layers.Values.SelectMany(l => l.MergedAdapters).Distinct().ToList();
        CheckDisjoint(alreadyMerged.Concat(toMerge).Distinct().ToList());
        if (safe) EnsureFinite(toMerge);
        foreach (var layer in _layers.Values) layer.Merge(toMerge, safe: false);
    }

    /// <summary>Every layer is checked before any is written, so a refusal leaves all weights untouched.</summary>
    internal void EnsureFinite(IReadOnlyList<string> names)
    {
        foreach (var layer in _layers.Values)
            foreach (var n in names.Where(layer.Adapters.ContainsKey))
                if (!TokenIndexCheck.AllFinite(layer.Adapters[n].Values))
                    throw new InvalidAdapterException(
                        $"Adapter '{n}' has NaN or infinite values for {layer.Path}; the merge was refused and every weight is unchanged. Retrain the adapter.", n);
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
        _registry.Clear();
        return Model;
    }

    private void Wrap()
    {
        var embeddingLayer = _layers.GetValueOrDefault(BaseEmbedding.Path);
        if (embeddingLayer is not null && Model.InputEmbedding is not TrainableTokensEmbedding)
            Model.InputEmbedding = new TrainableTokensEmbedding(BaseEmbedding, embeddingLayer, this);
        var headShowsRows = _layers.ContainsKey(BaseHead.Path) || (Model.Config.TieWordEmbeddings && _registry.Configs.Values.Any(l => l.HeadFollowsEmbedding));
        if (headShowsRows && Model.Head is not TrainableTokensHead)
            Model.Head = new TrainableTokensHead(BaseHead, this);
    }

    /// <summary>
    /// The rows the LM head shows for the active adapters: an adapter's own head rows (an untied head targeted
    /// explicitly, lm_head alone on a tied model, or a map that gives the head other ids), else, for an adapter whose
    /// tied head follows the embedding, the embedding's rows, which the head shares (PEFT's tied_adapter).
    /// </summary>
    internal IReadOnlyList<(Tensor SortedIds, Tensor SortedRows)> HeadRows()
    {
        var rows = new List<(Tensor, Tensor)>(2);
        var active = _registry.Active;
        var head = _layers.GetValueOrDefault(BaseHead.Path);
        if (head?.ActiveRows(active.Where(head.Adapters.ContainsKey).ToList()) is { } own) rows.Add(own);
        if (Model.Config.TieWordEmbeddings && _layers.TryGetValue(BaseEmbedding.Path, out var embedding))
        {
            var following = active.Where(a => _registry.Configs[a].HeadFollowsEmbedding && head?.Adapters.ContainsKey(a) != true).ToList();
            if (embedding.ActiveRows(following) is { } shared) rows.Add(shared);
        }
        return rows;
    }

    /// <summary>Which layers <paramref name="config"/> trains on this model (<see cref="TokenTargets"/>, the rule every command shares).</summary>
    public TokenTargets TargetsOf(TrainableTokensAdapterConfig config) =>
        TokenTargets.Resolve(config.TargetModules, BaseEmbedding.Path, BaseHead.Path, Model.Config.TieWordEmbeddings)
        ?? throw new InvalidAdapterException(
            $"target_modules {config.TargetModules} matches none of the model's embedding modules ({string.Join(", ", EmbeddingModules)}). " +
            $"Use one of those, or leave target_modules empty for the input embedding ({BaseEmbedding.Path}).", config.TargetModules?.ToString());

    private void CheckDisjoint(IReadOnlyList<string> names) =>
        TokenIndexCheck.EnsureDisjoint(names.Select(n => (n, (IEnumerable<long>)_registry.Configs[n].AllIds)));

    /// <summary>Removes the wrappers (the model keeps any merged rows) and frees the adapters' tensors.</summary>
    public void Dispose()
    {
        Model.InputEmbedding = BaseEmbedding;
        Model.Head = BaseHead;
        foreach (var layer in _layers.Values) layer.Dispose();
        _layers.Clear();
    }
}
