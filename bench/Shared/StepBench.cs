using System;
using System.Collections.Generic;
using System.IO;
using TrainableTokens.Core.Models;
using static TorchSharp.torch;

/// <summary>What the training-step benchmarks (bench/TrainStep, bench/Lora) share: arguments, memory readings, the floor.</summary>
internal static class StepBench
{
    /// <summary>A field of /proc/self/status in bytes (VmRSS, VmHWM), or -1.</summary>
    public static long Rss(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return -1;
    }

    /// <summary>"--name value" pairs.</summary>
    public static Dictionary<string, string> Args(string[] args)
    {
        var result = new Dictionary<string, string>();
        for (int i = 0; i + 1 < args.Length; i += 2) result[args[i].TrimStart('-')] = args[i + 1];
        return result;
    }
}

/// <summary>The floor: the frozen lookup, marked as needing a gradient so the backward pass runs through the body.</summary>
internal sealed class ActivationFloor : ITokenEmbedding
{
    private readonly ITokenEmbedding _base;
    public ActivationFloor(ITokenEmbedding b) => _base = b;
    public string Path => _base.Path;
    public Tensor Weight => _base.Weight;
    public Tensor Embed(Tensor ids) => _base.Embed(ids).detach().requires_grad_(true);
}
