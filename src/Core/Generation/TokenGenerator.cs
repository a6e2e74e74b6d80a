using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using TrainableTokens.Core.Models;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Generation;

/// <summary>
/// The decoding loop: the prompt's forward fills a <see cref="KeyValueCache"/>, then each new token costs one
/// position. Adapters apply through the model's (wrapped) embedding and head, so a tuned model generates as it is.
/// Without the cache (<c>useCache: false</c>) every step runs the whole sequence again: the reference the cached loop
/// is tested and benchmarked against.
/// </summary>
public static class TokenGenerator
{
    /// <param name="decode">Ids to text (the tokenizer's decode); null gives empty text and allows no stop strings.</param>
    /// <param name="onToken">Called after each new token with the text it releases (streaming).</param>
    public static GenerationResult Generate(CausalLanguageModel model, IReadOnlyList<long> promptIds, GenerationSettings settings,
        Func<IReadOnlyList<int>, string>? decode = null, Action<GeneratedToken>? onToken = null, bool useCache = true,
        CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (promptIds.Count == 0)
            throw new InvalidGenerationSettingsException("The prompt has no tokens; give a prompt text or at least one id.", "Prompt");
        if (decode is null && settings.StopStrings.Count > 0)
            throw new InvalidGenerationSettingsException("Stop strings need the model's tokenizer to decode the output; the model folder has none.", "Stop");
        foreach (var id in promptIds)
            if (id < 0 || id >= model.Config.VocabSize) throw new TokenIdOutOfRangeException(id, model.Config.VocabSize);
        PromptLength.Check(model.Config, promptIds.Count, settings.MaxNewTokens);

        long seed = settings.Seed ?? Random.Shared.NextInt64(0, long.MaxValue);
        using var sampler = new TokenSampler(settings, seed, model.Device);
        var eos = new HashSet<int>(settings.EosTokenIds);
        var text = new TextStream(decode ?? (_ => ""), settings.StopStrings);
        var generated = new List<int>(settings.MaxNewTokens);
        var sequence = promptIds.ToList();
        var reason = StopReason.MaxNewTokens;
        string? stoppedAt = null;
        double promptSeconds = 0;
        var watch = Stopwatch.StartNew();
        using var cache = useCache ? new KeyValueCache(model, promptIds.Count + settings.MaxNewTokens) : null;
        using var noGrad = no_grad();
        for (int step = 0; step < settings.MaxNewTokens; step++)
        {
            if (cancel.IsCancellationRequested)
            {
                reason = StopReason.Cancelled;
                break;
            }
            long next;
            using (NewDisposeScope())
            {
                // With the cache, the first step runs the prompt and every later one only the last token.
                var input = cache is null ? sequence : step == 0 ? sequence : sequence.GetRange(sequence.Count - 1, 1);
                using var ids = tensor(input.ToArray(), new long[] { 1, input.Count }, device: CPU);
                using var output = cache is null ? model.Forward(ids) : model.ForwardWithCache(ids, cache, lastPositionOnly: true);
                next = sampler.Next(output.Logits[0, -1]);
            }
            if (step == 0)
            {
                promptSeconds = watch.Elapsed.TotalSeconds;
                watch.Restart();
            }
            sequence.Add(next);
            generated.Add((int)next);
            if (eos.Contains((int)next))
            {
                reason = StopReason.EndOfSequence;
                stoppedAt = next.ToString(System.Globalization.CultureInfo.InvariantCulture);
                onToken?.Invoke(new GeneratedToken(step, (int)next, text.Flush()));
                break;
            }
            var piece = decode is null ? "" : text.Update(generated);
            if (text.Stop is { } stop)
            {
                reason = StopReason.StopString;
                stoppedAt = stop;
                onToken?.Invoke(new GeneratedToken(step, (int)next, piece + text.Flush()));
                break;
            }
            onToken?.Invoke(new GeneratedToken(step, (int)next, step == settings.MaxNewTokens - 1 ? piece + text.Flush() : piece));
        }
        return new GenerationResult
        {
            Text = text.Text,
            GeneratedIds = generated,
            PromptIds = promptIds.Select(i => (int)i).ToList(),
            StopReason = reason,
            StoppedAt = stoppedAt,
            PromptSeconds = promptSeconds,
            GenerationSeconds = generated.Count > 1 ? watch.Elapsed.TotalSeconds : 0,
            Decoding = settings.Sampling ? "sampled" : "greedy",
            Seed = settings.Sampling ? seed : null,
            UsedCache = useCache,
        };
    }
}
