using System;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>
/// One forward of a <see cref="CausalLanguageModel"/>, run a step at a time by its caller (from
/// <see cref="CausalLanguageModel.BeginPass"/>): <see cref="Embed"/>, then <see cref="Layer"/> for each decoder layer in
/// order (any layer may be run again on the same input, as gradient checkpointing does), <see cref="Final"/> and
/// <see cref="Logits"/> on any subset of positions. The rotary angles are made once, by <see cref="Embed"/>.
/// </summary>
internal sealed class ModelPass : IDisposable
{
    private readonly CausalLanguageModel _model;
    private readonly Tensor _ids, _positions;
    private readonly long _positionCount;
    private readonly AttentionMask _mask;
    private RopeAngles? _angles;
    private bool _embedded;

    internal ModelPass(CausalLanguageModel model, Tensor ids, Tensor positions, long positionCount, AttentionMask mask)
    {
        _positionCount = positionCount;
        _model = model;
        _ids = ids;
        _positions = positions;
        _mask = mask;
    }

    public int LayerCount => _model.LayerCount;

    public long VocabSize => _model.Config.VocabSize;

    /// <summary>The embedding output [batch, seq, hidden]: entry 0 of Hugging Face's hidden states.</summary>
    public Tensor Embed()
    {
        var h = _model.Embed(_ids, _positions, _positionCount);
        if (!_embedded) _angles = _model.Angles(_positions, h.dtype, _positionCount);
        _embedded = true;
        return h;
    }

    /// <summary>Decoder layer <paramref name="index"/> on its input <paramref name="h"/>.</summary>
    public Tensor Layer(int index, Tensor h)
    {
        if (!_embedded) throw new InvalidOperationException("Embed comes first: it makes the pass's rotary angles.");
        return _model.RunLayer(index, h, _angles, _mask);
    }

    /// <summary>The final norm on the last layer's output: what the head reads.</summary>
    public Tensor Final(Tensor h) => _model.FinalNorm(h);

    /// <summary>Logits [..., vocab] of final hidden states [..., hidden] (the head and any final soft-cap).</summary>
    public Tensor Logits(Tensor final) => _model.Project(final);

    public void Dispose() => _mask.Dispose();
}
