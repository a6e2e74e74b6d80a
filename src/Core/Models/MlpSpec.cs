using System.Collections.Generic;

namespace TrainableTokens.Core.Models;

/// <summary>The feed-forward part of a layer, with its projections named within the layer; the activation is config.json's.</summary>
public abstract record MlpSpec
{
    public abstract IEnumerable<Projection> Projections(ModelConfig c);

    internal abstract IFeedForward Build(DecoderParts parts, string layer);
}

/// <summary><c>down(act(gate(x)) * up(x))</c>: Llama's SwiGLU, Gemma's GeGLU.</summary>
public sealed record GatedMlp(string Gate, string Up, string Down) : MlpSpec
{
    public override IEnumerable<Projection> Projections(ModelConfig c)
    {
        yield return new(Gate, c.HiddenSize, c.IntermediateSize, c.MlpBias);
        yield return new(Up, c.HiddenSize, c.IntermediateSize, c.MlpBias);
        yield return new(Down, c.IntermediateSize, c.HiddenSize, c.MlpBias);
    }

    internal override IFeedForward Build(DecoderParts parts, string layer) =>
        new GatedFeedForward(parts.Linear(layer, Gate), parts.Linear(layer, Up), parts.Linear(layer, Down), parts.Activation);
}

/// <summary><c>down(act(gate) * up)</c> with gate and up one projection, gate its first half (Phi-3's gate_up_proj).</summary>
public sealed record FusedGatedMlp(string GateUp, string Down) : MlpSpec
{
    public override IEnumerable<Projection> Projections(ModelConfig c)
    {
        yield return new(GateUp, c.HiddenSize, 2L * c.IntermediateSize, c.MlpBias);
        yield return new(Down, c.IntermediateSize, c.HiddenSize, c.MlpBias);
    }

    internal override IFeedForward Build(DecoderParts parts, string layer) =>
        new FusedGatedFeedForward(parts.Linear(layer, GateUp), parts.Linear(layer, Down), parts.Activation);
}

/// <summary><c>down(act(up(x)))</c>: GPT-2's c_fc and c_proj.</summary>
public sealed record PlainMlp(string Up, string Down) : MlpSpec
{
    public override IEnumerable<Projection> Projections(ModelConfig c)
    {
        yield return new(Up, c.HiddenSize, c.IntermediateSize, c.MlpBias);
        yield return new(Down, c.IntermediateSize, c.HiddenSize, c.MlpBias);
    }

    internal override IFeedForward Build(DecoderParts parts, string layer) =>
        new PlainFeedForward(parts.Linear(layer, Up), parts.Linear(layer, Down), parts.Activation);
}
