using System;
using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Fuzz.Targets;

namespace TrainableTokens.Fuzz;

/// <summary>Every harness, by name.</summary>
public static class FuzzTargets
{
    public static readonly IReadOnlyList<FuzzTarget> All = new FuzzTarget[]
    {
        new SafetensorsHeaderTarget(),
        new ConfigJsonTarget(),
        new AdapterConfigTarget(),
        new TokenizerJsonTarget(),
        new TokenizerConfigTarget(),
        new RunYamlTarget(),
        new DatasetJsonlTarget(),
    };

    public static FuzzTarget Get(string name) =>
        All.FirstOrDefault(t => t.Name == name)
        ?? throw new ArgumentException($"There is no fuzz target '{name}'. Targets: {string.Join(", ", All.Select(t => t.Name))}.", nameof(name));
}
