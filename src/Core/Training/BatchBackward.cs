using TrainableTokens.Core.Models;
using TrainableTokens.Core.Training.Data;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Training;

/// <summary>
/// One micro-batch's forward and backward: the gradient of <c>summed loss / divisor</c> collects in every parameter
/// that requires grad (a trainable-tokens adapter's rows, and any tuner's parameters inside the decoder layers). The
/// loss goes in chunks (<see cref="ChunkedCrossEntropy"/>); the backward continues from the final hidden states.
/// With gradient checkpointing (Hugging Face's gradient_checkpointing) only each decoder layer's input is kept in the
/// forward; the backward recomputes one layer at a time, with gradients, and runs its backward at once, so one layer's
/// activations are alive at a time instead of all of them. The recomputation is the same arithmetic, and draws the
/// same random numbers (a LoRA dropout mask): torch's CPU generator is set back to its state before the layer's first
/// run, then restored, as torch.utils.checkpoint preserves it; so the gradients are the same as without it. On CUDA, whose
/// generator state TorchSharp does not expose, each layer's first run and its recomputation are seeded alike instead
/// (the masks then differ from a run without checkpointing, but forward and backward agree).
/// </summary>
internal static class BatchBackward
{
    /// <summary>Runs forward and backward; returns the summed loss (detached, float32).</summary>
    public static Tensor Run(CausalLanguageModel model, Batch batch, long divisor, bool gradientCheckpointing)
    {
        using var scope = NewDisposeScope();
        using var pass = model.BeginPass(batch.InputIds, batch.AttentionMask);
        var embedded = pass.Embed();
        var loss = gradientCheckpointing ? Checkpointed(pass, embedded, batch.Labels, divisor) : Whole(pass, embedded, batch.Labels, divisor);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>The whole graph through every layer is kept; the loss's backward stops at a detached copy of the final
    /// hidden states, whose gradient then runs through the rest in one backward.</summary>
    private static Tensor Whole(ModelPass pass, Tensor embedded, Tensor labels, long divisor)
    {
        var h = embedded;
        for (int l = 0; l < pass.LayerCount; l++) h = pass.Layer(l, h);
        var final = pass.Final(h);
        var top = final.detach().requires_grad_(true);
        var loss = ChunkedCrossEntropy.Backward(pass, top, labels, divisor);
        if (final.requires_grad) final.backward(new[] { top.grad! });
        return loss;
    }

    private static Tensor Checkpointed(ModelPass pass, Tensor embedded, Tensor labels, long divisor)
    {
        int count = pass.LayerCount;
        var inputs = new Tensor[count + 1];
        // trainable[l]: layer l holds parameters that require grad (a LoRA projection, say). Found by running each layer
        // once with gradients on a detached input: only its own parameters can then give the output a graph, which is
        // dropped at once (one layer's activations, as the recomputation costs anyway).
        var trainable = new bool[count];
        var generatorStates = new Tensor[count];
        long? cudaSeed = embedded.device_type == TorchSharp.DeviceType.CUDA ? randint(0, int.MaxValue, new long[] { 1 }, device: CPU).item<long>() : null; // sync: a draw from the CPU generator, no device read
        inputs[0] = embedded.detach();
        for (int l = 0; l < count; l++)
        {
            using var layerScope = NewDisposeScope();
            generatorStates[l] = random.get_rng_state().MoveToOuterDisposeScope();
            if (cudaSeed is { } first) SeedCuda(first + l);
            var output = pass.Layer(l, inputs[l]);
            trainable[l] = output.requires_grad;
            inputs[l + 1] = output.detach().MoveToOuterDisposeScope();
        }
        // below[l]: something under layer l's input needs its gradient (an earlier layer's parameters, or the embedding's rows).
        var below = new bool[count + 1];
        below[0] = embedded.requires_grad;
        for (int l = 0; l < count; l++) below[l + 1] = below[l] || trainable[l];

        var last = inputs[count];
        if (below[count]) last.requires_grad_(true);
        var final = pass.Final(last);
        var top = final.detach().requires_grad_(true);
        var loss = ChunkedCrossEntropy.Backward(pass, top, labels, divisor);
        if (!below[count]) return loss;
        final.backward(new[] { top.grad! });
        var gradient = last.grad!;
        for (int l = count - 1; l >= 0 && (trainable[l] || below[l]); l--)
        {
            using var layerScope = NewDisposeScope();
            var input = below[l] ? inputs[l].requires_grad_(true) : inputs[l];
            var now = random.get_rng_state();
            random.set_rng_state(generatorStates[l]);
            if (cudaSeed is { } first) SeedCuda(first + l);
            var output = pass.Layer(l, input);
            random.set_rng_state(now);
            output.backward(new[] { gradient });
            var next = below[l] ? input.grad!.MoveToOuterDisposeScope() : null;
            gradient.Dispose();
            inputs[l + 1].Dispose();
            if (next is null) return loss;
            gradient = next;
        }
        embedded.backward(new[] { gradient });
        return loss;
    }

    private static void SeedCuda(long seed) => cuda.manual_seed(seed);
}
