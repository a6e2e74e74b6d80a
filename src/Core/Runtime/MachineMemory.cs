using System;
using System.Globalization;
using System.IO;
using System.Linq;

namespace TrainableTokens.Core.Runtime;

/// <summary>
/// How much memory a new allocation can still get: on the host the least of /proc/meminfo's MemAvailable and the
/// process's memory limit (the GC honours cgroup limits) minus what the process already uses; on a CUDA device what
/// NVML reports free. Null when the machine does not say, so callers check only what they can know.
/// </summary>
internal static class MachineMemory
{
    /// <summary>Free bytes for <paramref name="deviceType"/> ("cpu" or "cuda") device <paramref name="index"/>; null when unknown.</summary>
    public static long? Available(string deviceType, int index)
    {
        if (deviceType == "cuda")
            return Nvml.ListDevices().FirstOrDefault(d => d.Index == Math.Max(index, 0)) is { FreeMemoryBytes: >= 0 } gpu ? gpu.FreeMemoryBytes : null;
        return deviceType == "cpu" ? Host() : null;
    }

    public static long? Host()
    {
        long? available = MemAvailable();
        var limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (limit > 0)
        {
            var left = Math.Max(0, limit - Environment.WorkingSet);
            available = available is { } a ? Math.Min(a, left) : left;
        }
        return available;
    }

    private static long? MemAvailable()
    {
        try
        {
            if (!File.Exists("/proc/meminfo")) return null;
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (!line.StartsWith("MemAvailable:", StringComparison.Ordinal)) continue;
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kb) ? kb * 1024 : null;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }
}
