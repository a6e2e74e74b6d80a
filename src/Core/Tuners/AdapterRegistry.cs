using System;
using System.Collections.Generic;
using System.Linq;

namespace TrainableTokens.Core.Tuners;

/// <summary>
/// The named adapters of one tuner, in the order they were added: their configs, which are active, and whether
/// adapters are enabled at all (PEFT's BaseTuner bookkeeping: set_adapter, enable/disable_adapter_layers,
/// delete_adapter). Tensors live in the tuner's layers; this holds only names and configs.
/// </summary>
public sealed class AdapterRegistry<TConfig>
{
    private readonly List<string> _order = new();
    private readonly Dictionary<string, TConfig> _configs = new(StringComparer.Ordinal);
    private List<string> _active = new();

    public IReadOnlyDictionary<string, TConfig> Configs => _configs;
    public IReadOnlyList<string> Names => _order;
    public IReadOnlyList<string> Active => _active;
    public bool Enabled { get; set; } = true;

    public bool Contains(string name) => _configs.ContainsKey(name);

    /// <summary>Adds or replaces <paramref name="name"/>'s config (a replaced one keeps its place).</summary>
    public void Set(string name, TConfig config)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("An adapter needs a name.", nameof(name));
        if (!_configs.ContainsKey(name)) _order.Add(name);
        _configs[name] = config;
    }

    public TConfig Get(string name) =>
        _configs.TryGetValue(name, out var config) ? config : throw new ArgumentException($"There is no adapter '{name}'.", nameof(name));

    /// <summary>Throws for the first name that is not an adapter, listing those that are.</summary>
    public void Require(IEnumerable<string> names)
    {
        foreach (var n in names)
            if (!_configs.ContainsKey(n))
                throw new ArgumentException($"There is no adapter '{n}'. Adapters: {string.Join(", ", _order)}.", nameof(names));
    }

    /// <summary>Makes exactly <paramref name="names"/> active (duplicates once) and enables adapters.</summary>
    public void SetActive(IEnumerable<string> names)
    {
        var list = names.Distinct().ToList();
        Require(list);
        _active = list;
        Enabled = true;
    }

    /// <summary>Removes <paramref name="name"/>; with <paramref name="promoteFirst"/>, an emptied active set takes the first
    /// adapter left, as PEFT's delete_adapter does.</summary>
    public void Remove(string name, bool promoteFirst)
    {
        if (!_configs.Remove(name)) throw new ArgumentException($"There is no adapter '{name}'.", nameof(name));
        _order.Remove(name);
        _active.Remove(name);
        if (promoteFirst && _active.Count == 0 && _order.Count > 0) _active.Add(_order[0]);
    }

    public void Clear()
    {
        _order.Clear();
        _configs.Clear();
        _active.Clear();
    }
}
