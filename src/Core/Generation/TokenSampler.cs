using System;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Generation;

/// <summary>Picks the next token from one position's logits: argmax, or a seeded draw after temperature, top-k and top-p.</summary>
internal sealed class TokenSampler : IDisposable
{
    private readonly GenerationSettings _settings;
    private readonly Generator? _generator;

    public TokenSampler(GenerationSettings settings, long seed, Device device)
    {
        _settings = settings;
        // The generator lives on the logits' device, so a seed gives the same draws on every run there.
        if (settings.Sampling) _generator = new Generator(unchecked((ulong)seed), device);
    }

    /// <summary><paramref name="logits"/> [vocab] of any float dtype; returns the chosen id.</summary>
    public long Next(Tensor logits)
    {
        using var scope = NewDisposeScope();
        // Argmax on the model's own logits: the same choice the plain forward's argmax makes.
        if (_generator is null) return logits.argmax().item<long>(); // sync: the host needs each token to decode and stop
        var scores = logits.to(ScalarType.Float32) / _settings.Temperature;
        long vocab = scores.shape[0];
        if (_settings.TopK > 0 && _settings.TopK < vocab)
        {
            var kth = scores.topk(_settings.TopK).values[_settings.TopK - 1];
            scores = scores.masked_fill(scores < kth, double.NegativeInfinity);
        }
        if (_settings.TopP < 1)
        {
            // Drop the least likely tokens whose probabilities together stay at most 1 - top_p; the most likely is always kept.
            var (sorted, order) = scores.sort(descending: false);
            var cumulative = sorted.softmax(-1).cumsum(-1);
            var drop = cumulative <= 1 - _settings.TopP;
            drop[-1] = tensor(false, device: drop.device);
            scores = scores.masked_fill(zeros_like(drop).scatter(0, order, drop), double.NegativeInfinity);
        }
        var probabilities = scores.softmax(-1);
        return multinomial(probabilities, 1, generator: _generator).item<long>(); // sync: the host needs each token to decode and stop
    }

    public void Dispose() => _generator?.Dispose();
}
