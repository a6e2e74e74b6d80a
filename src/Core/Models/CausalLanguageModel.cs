using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TrainableTokens.Core.Generation;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>
/// A decoder-only causal language model with Hugging Face's parameter names and outputs: one decoder, built from the
/// <see cref="DecoderSpec"/> that <see cref="ModelArchitectures"/> gives its model_type. Weights are frozen tensors (no
/// gradients); gradients flow through activations to whatever a tuner makes trainable. Tuners wrap the input
/// embedding, the head (<see cref="InputEmbedding"/>, <see cref="Head"/>) or any projection (<see cref="LinearLayers"/>).
/// </summary>
public sealed partial class CausalLanguageModel : IDisposable
{
    private readonly Dictionary<string, Tensor> _weights;
    private readonly bool _scaleEmbedding;
    private readonly ScalarType? _rotaryDtype;
    private readonly double? _finalLogitSoftcap;
    private readonly PositionEncoding _positions;
    private readonly DecoderLayer[] _layers;
    private readonly Norm _finalNorm;

    internal CausalLanguageModel(ModelConfig config, Dictionary<string, Tensor> weights)
    {
        var spec = ModelArchitectures.Spec(config.ModelType);
        Config = config;
        _weights = weights;
        var embedding = weights[spec.Embedding + ".weight"];
        Dtype = embedding.dtype;
        Device = embedding.device;
        InputEmbedding = new EmbeddingTable(spec.Embedding, embedding);
        // A tied head is the embedding tensor itself, as in Hugging Face; an untied one has its own weight. A head bias
        // is used when the architecture lists one among its weights.
        var headPath = spec.LmHead;
        Head = new LinearHead(headPath, config.TieWordEmbeddings ? embedding : weights[headPath + ".weight"], weights.GetValueOrDefault(headPath + ".bias"));
        var parts = new DecoderParts(spec, config, weights, Device);
        _scaleEmbedding = spec.ScaleEmbedding;
        _rotaryDtype = spec.RotaryInFloat32 ? ScalarType.Float32 : null;
        _finalLogitSoftcap = config.FinalLogitSoftcap;
        _positions = spec.Positions.Build(parts);
        _layers = new DecoderLayer[config.NumLayers];
        for (int l = 0; l < _layers.Length; l++) _layers[l] = new DecoderLayer(parts, l);
        _finalNorm = parts.Norm(spec.FinalNorm);
        LinearLayers = parts.Linears;
    }

    public ModelConfig Config { get; }
    public ScalarType Dtype { get; }
    public Device Device { get; }

    /// <summary>The input embedding; a tuner may replace it with a wrapper.</summary>
    public ITokenEmbedding InputEmbedding { get; set; }

    /// <summary>The LM head; a tuner may replace it with a wrapper.</summary>
    public ILanguageModelHead Head { get; set; }

    /// <summary>Every projection by module path (<c>model.layers.0.self_attn.q_proj</c>); a tuner may replace one with a wrapper.</summary>
    public LinearLayerTable LinearLayers { get; }

    /// <summary>Every weight by its Hugging Face name (a tied head has no entry of its own).</summary>
    public IReadOnlyDictionary<string, Tensor> Weights => _weights;

    /// <summary>
    /// Runs the model. <paramref name="inputIds"/> [batch, seq] int64; <paramref name="attentionMask"/> [batch, seq] of
    /// 1 (token) and 0 (padding), or null; <paramref name="positionIds"/> [batch, seq], or null for 0..seq-1 as
    /// Hugging Face uses when none are given. Outputs stay alive after the caller's dispose scope ends only if moved.
    /// </summary>
    public ModelOutput Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, bool outputHiddenStates = false)
    {
        using var scope = NewDisposeScope();
        using var pass = BeginPass(inputIds, attentionMask, positionIds);
        var hidden = outputHiddenStates ? new List<Tensor>() : null;
        var h = pass.Embed();
        for (int l = 0; l < pass.LayerCount; l++)
        {
            hidden?.Add(h);
            h = pass.Layer(l, h);
        }
        var final = pass.Final(h);
        var logits = Project(final);
        hidden?.Add(final);
        var output = new ModelOutput(logits.MoveToOuterDisposeScope(), hidden?.Select(t => t.MoveToOuterDisposeScope()).ToList() ?? new List<Tensor>());
        return output;
    }

    /// <summary>
    /// Runs only the new positions <paramref name="inputIds"/> [batch, seq] after those <paramref name="cache"/> holds
    /// (positions continue from <see cref="KeyValueCache.Length"/>), stores their keys and values there and returns
    /// their logits ([batch, 1, vocab] with <paramref name="lastPositionOnly"/>). No padding; no gradients. The logits
    /// equal <see cref="Forward"/>'s over the whole sequence to float rounding.
    /// </summary>
    public ModelOutput ForwardWithCache(Tensor inputIds, KeyValueCache cache, bool lastPositionOnly = false)
    {
        ArgumentNullException.ThrowIfNull(cache);
        if (inputIds.dim() != 2 || inputIds.shape[1] == 0)
            throw new ArgumentException($"Input ids must be [batch, seq] with seq > 0; got shape [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        CheckVocabulary(inputIds);
        var ids = inputIds.to(ScalarType.Int64).to(Device);
        long batch = ids.shape[0], length = ids.shape[1], start = cache.Length;
        cache.Begin(this, batch);
        var positions = arange(start, start + length, ScalarType.Int64, Device).unsqueeze(0).expand(batch, length);
        using var mask = new AttentionMask(null, length, Dtype, Device); // unused: cached layers mask by position
        var final = Run(ids, positions, start + length, mask, cache, start);
        if (lastPositionOnly && length > 1) final = final.narrow(1, length - 1, 1);
        var logits = Project(final);
        cache.End(length);
        return new ModelOutput(logits.MoveToOuterDisposeScope(), new List<Tensor>());
    }

    /// <summary>Embeddings to the final normalised hidden state, with a cache: each layer stores and attends to its held keys.</summary>
    private Tensor Run(Tensor ids, Tensor positions, long positionCount, AttentionMask mask, KeyValueCache cache, long start)
    {
        var h = Embed(ids, positions, positionCount);
        var angles = Angles(positions, h.dtype, positionCount);
        for (int l = 0; l < _layers.Length; l++) h = RunLayer(l, h, angles, mask, cache.Layer(l), start);
        return FinalNorm(h);
    }

    /// <summary>The input embedding's output, scaled and with position embeddings where the architecture has them.
    /// <paramref name="positionCount"/> is the largest position plus one, known on the host.</summary>
    internal Tensor Embed(Tensor ids, Tensor positions, long positionCount)
    {
        var h = InputEmbedding.Embed(ids);
        // Gemma multiplies by sqrt(hidden_size) rounded to the model's dtype, exactly as Hugging Face does.
        // A 0-dim CPU tensor enters the kernel as a scalar: no copy to the device per forward.
        if (_scaleEmbedding) h = h * tensor(Math.Sqrt(Config.HiddenSize), h.dtype, CPU);
        return _positions.Embed(h, positions, positionCount);
    }

    internal RopeAngles? Angles(Tensor positions, ScalarType hiddenDtype, long positionCount) =>
        _positions.Angles(positions, _rotaryDtype ?? hiddenDtype, positionCount);

    internal int LayerCount => _layers.Length;

    /// <summary>Decoder layer <paramref name="l"/> on <paramref name="h"/>. A scope per layer: the layer's temporaries (q/k/v,
    /// attention scores, the MLP's wide tensors) go as soon as it is done, instead of living until the whole pass ends
    /// (about 11 MiB a token at 8B size). What autograd saved for backward stays alive through its own references.</summary>
    internal Tensor RunLayer(int l, Tensor h, RopeAngles? angles, AttentionMask mask, LayerKeyValues? cache = null, long start = 0)
    {
        using var layerScope = NewDisposeScope();
        return _layers[l].Forward(h, angles, mask, cache, start).MoveToOuterDisposeScope();
    }

    internal Tensor FinalNorm(Tensor h) => _finalNorm.Forward(h);

    /// <summary>The head on final hidden states [..., hidden] to logits [..., vocab], with Gemma 2's final soft-cap in the
    /// model's dtype as transformers applies it. Applies to any subset of positions alike, so the loss can go in chunks.</summary>
    internal Tensor Project(Tensor final)
    {
        var logits = Head.Project(final);
        if (_finalLogitSoftcap is { } cap) logits = (logits / cap).tanh() * cap;
        return logits;
    }

    /// <summary>Reads the ids where the caller made them: on the CPU that costs no device round trip.</summary>
    private void CheckVocabulary(Tensor ids)
    {
        if (ids.numel() == 0) return;
        using var scope = NewDisposeScope();
        long min = ids.min().item<long>(), max = ids.max().item<long>(); // sync: host ids (callers pass them on the CPU)
        if (min < 0 || max >= Config.VocabSize)
        {
            long bad = min < 0 ? min : max;
            throw new TokenIdOutOfRangeException(bad, Config.VocabSize);
        }
    }

    /// <summary>The largest position plus one, read where the caller made the positions (on the CPU: no device round trip).</summary>
    private static long PositionCount(Tensor positionIds)
    {
        if (positionIds.numel() == 0) return 0;
        using var scope = NewDisposeScope();
        return positionIds.max().item<long>() + 1; // sync: host positions (callers pass them on the CPU)
    }

    public void Dispose()
    {
        _positions.Dispose();
        foreach (var t in _weights.Values) t.Dispose();
        GC.SuppressFinalize(this);
    }
}
