using System.Collections.Generic;
using System.Linq;

namespace TrainableTokens.Core.Runtime;

/// <summary>The device names this machine offers (for tab completion): cpu, then cuda and cuda:N per GPU the NVIDIA
/// driver lists. Asks NVML only, so it costs milliseconds and never loads libtorch.</summary>
public static class DeviceList
{
    public static IReadOnlyList<(string Name, string Description)> Names()
    {
        var gpus = Nvml.ListDevices();
        var names = new List<(string, string)> { ("cpu", "The CPU") };
        if (gpus.Count > 0) names.Add(("cuda", $"The first GPU ({gpus[0].Name})"));
        names.AddRange(gpus.Select(g => ($"cuda:{g.Index}", g.TotalMemoryBytes > 0 ? $"{g.Name}, {g.TotalMemoryBytes / (1L << 30)} GiB" : g.Name)));
        return names;
    }
}
