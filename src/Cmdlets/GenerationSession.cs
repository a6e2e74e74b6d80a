using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using TrainableTokens.Core.Generation;
using TrainableTokens.Core.Training.Data;

namespace TrainableTokens.Cmdlets;

/// <summary>What Invoke-TokenGeneration hands the engine, in plain types (no engine type in a cmdlet's fields).</summary>
internal sealed record GenerationInput(
    string Model, string? Prompt, long[]? InputIds, IReadOnlyList<(string Role, string Content)>? Messages, string[] Adapters,
    int MaxNewTokens, double Temperature, int TopK, double TopP, long? Seed, int[]? EosTokenIds, string[] Stop, string Dtype, string Device, bool UseCache);

/// <summary>The only code of Invoke-TokenGeneration that touches the engine (non-inlined, see <see cref="TokenizerSession"/>).</summary>
internal static class GenerationSession
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    /// <param name="loaded">The model loaded by an earlier record of the same pipeline, or null; what this call loads is left there.</param>
    public static object Run(GenerationInput input, ref object? loaded, Action<int, int, string> onToken, CancellationToken cancel)
    {
        var request = new GenerationRequest(input.Model)
        {
            Prompt = input.Prompt,
            InputIds = input.InputIds,
            Messages = input.Messages?.Select(m => new ChatMessage(m.Role, m.Content)).ToList(),
            AdapterFolders = input.Adapters,
            Dtype = input.Dtype,
            Device = input.Device,
            UseCache = input.UseCache,
            Settings = new GenerationSettings
            {
                MaxNewTokens = input.MaxNewTokens,
                Temperature = input.Temperature,
                TopK = input.TopK,
                TopP = input.TopP,
                Seed = input.Seed,
                EosTokenIds = input.EosTokenIds ?? Array.Empty<int>(),
                StopStrings = input.Stop,
            },
        };
        var model = loaded as GenerationRun.LoadedModel;
        try
        {
            return GenerationRun.Run(request, ref model, t => onToken(t.Index, t.Id, t.Text), cancel);
        }
        finally
        {
            loaded = model;
        }
    }

    public static void Release(object? loaded) => (loaded as IDisposable)?.Dispose();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static bool Cancelled(object result) => ((GenerationResult)result).StopReason == StopReason.Cancelled;
}
