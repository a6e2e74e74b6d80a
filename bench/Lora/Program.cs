using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using TorchSharp.Modules;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Runtime;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

// usage: Lora --vocab 256000 --k 2 --dtype float32 [--modes lora,tokens,saved,floor] [--steps 3] [--seq 64] [--layers 2] [--hidden 256] [--r 8]
// Prints one JSON line per mode: median step seconds, peak RSS during the measured steps, RSS before them.
//   lora:   LoRA alone (all-linear, rank r), the embedding frozen
//   tokens: LoRA + Trainable Tokens on k rows (PEFT's LoraConfig(trainable_token_indices=...)): the two tuners on one model
//   saved:  LoRA + the embedding in modules_to_save (PEFT's alternative): a trainable copy of the whole V x d matrix, the tied head on it
//   floor:  nothing trainable, gradients for the activations only
var options = StepBench.Args(args);
int vocab = int.Parse(options.GetValueOrDefault("vocab", "256000"));
int k = int.Parse(options.GetValueOrDefault("k", "2"));
var dtype = ModelDtype.Parse(options.GetValueOrDefault("dtype", "float32"));
var modes = options.GetValueOrDefault("modes", "lora,tokens,saved,floor").Split(',');
int steps = int.Parse(options.GetValueOrDefault("steps", "3"));
int seq = int.Parse(options.GetValueOrDefault("seq", "64"));
int layers = int.Parse(options.GetValueOrDefault("layers", "2"));
int hidden = int.Parse(options.GetValueOrDefault("hidden", "256"));
int rank = int.Parse(options.GetValueOrDefault("r", "8"));

TorchRuntime.EnsureLoaded();
// A 256k vocabulary (gemma's) on a small, tied body, so one step takes seconds on two cores.
var spec = new TinyModelSpec
{
    ModelType = "gemma", VocabSize = vocab, HiddenSize = hidden, IntermediateSize = 4 * hidden, NumLayers = layers,
    NumHeads = 4, NumKeyValueHeads = 2, HeadDim = hidden / 4, MaxPositions = 8192, TieWordEmbeddings = true,
};
using var configDoc = JsonDocument.Parse(TinyModelFactory.ConfigJson(spec));
var config = ModelConfigReader.Parse(configDoc.RootElement, "config.json");
CausalLanguageModel model;
using (var init = NewDisposeScope())
{
    var weights = new Dictionary<string, Tensor>();
    var generator = new Generator(1);
    foreach (var w in ModelLoader.ExpectedWeights(config))
        weights[w.Name] = (randn(w.Shape, generator: generator) * 0.02).to(dtype).DetachFromDisposeScope();
    model = ModelLoader.Create(config, weights);
}
var tokens = Enumerable.Range(0, k).Select(i => (long)(vocab - 1 - i * 7)).ToArray();
var rng = new Random(5);
// Half the positions hold trained tokens, so the substitution path is exercised, not skipped.
var ids = tensor(Enumerable.Range(0, seq).Select(i => i % 2 == 0 ? tokens[rng.Next(k)] : (long)rng.Next(vocab - 8 * k)).ToArray(), new long[] { 1, seq });
var loraConfig = new LoraConfig { R = rank, LoraAlpha = 2 * rank, TargetModules = LoraTargets.FromString("all-linear") };

foreach (var mode in modes)
{
    var (step, cleanup, trainable) = Prepare(mode);
    step(); // warm-up: first-touch allocations, optimizer state
    GC.Collect();
    long before = StepBench.Rss("VmRSS");
    var times = new List<double>();
    File.WriteAllText("/proc/self/clear_refs", "5"); // reset VmHWM to the current RSS
    for (int i = 0; i < steps; i++)
    {
        var watch = Stopwatch.StartNew();
        step();
        times.Add(watch.Elapsed.TotalSeconds);
    }
    long peak = StepBench.Rss("VmHWM");
    cleanup();
    times.Sort();
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        mode, vocab, k, dtype = ModelDtype.Name(dtype), seq, layers, hidden, r = rank, steps, trainable_parameters = trainable,
        median_step_s = times[times.Count / 2], min_step_s = times[0], rss_before_bytes = before, peak_rss_bytes = peak,
    }));
}
return 0;

(Action Step, Action Cleanup, long Trainable) Prepare(string mode)
{
    var embedding = model.InputEmbedding;
    switch (mode)
    {
        case "lora":
        {
            var lora = Lora(out var parameters);
            var optimizer = optim.AdamW(parameters, lr: 1e-3);
            return (() => Train(optimizer), () => { optimizer.Dispose(); lora.Dispose(); }, parameters.Sum(p => p.numel()));
        }
        case "tokens":
        {
            // PEFT's LoraConfig(trainable_token_indices=...): the LoRA tuner carries the rows (the tied head follows them).
            var lora = Lora(out var parameters, loraConfig with { TrainableTokenIndices = tokens });
            var optimizer = optim.AdamW(parameters, lr: 1e-3);
            return (() => Train(optimizer), () => { optimizer.Dispose(); lora.Dispose(); }, parameters.Sum(p => p.numel()));
        }
        case "saved":
        {
            // modules_to_save: a trainable copy of the whole embedding, which the tied head follows (ensure_weight_tying).
            var lora = Lora(out var parameters, loraConfig with { ModulesToSave = ["embed_tokens"], EnsureWeightTying = true });
            var optimizer = optim.AdamW(parameters, lr: 1e-3);
            return (() => Train(optimizer), () => { optimizer.Dispose(); lora.Dispose(); }, parameters.Sum(p => p.numel()));
        }
        case "floor":
        {
            var floor = new ActivationFloor(embedding);
            model.InputEmbedding = floor;
            return (() => Train(null), () => { model.InputEmbedding = embedding; }, 0);
        }
        default: throw new ArgumentException($"Unknown mode '{mode}'.");
    }
}

LoraModel Lora(out List<Parameter> parameters, LoraConfig? config = null)
{
    var lora = new LoraModel(model);
    lora.AddAdapter("bench", config ?? loraConfig, new Generator(3, CPU));
    // B starts at zero; a trained-looking B makes the adapter path's cost the real one.
    using (var noGrad = no_grad())
        foreach (var layer in lora.Layers.Values) layer.Adapters["bench"].B.normal_(0, 0.01);
    lora.Training = true;
    parameters = lora.TrainableParameters("bench").ToList();
    return lora;
}

void Train(optim.Optimizer? optimizer)
{
    using var scope = NewDisposeScope();
    optimizer?.zero_grad();
    using var output = model.Forward(ids);
    var logits = output.Logits[0, ..^1].to(ScalarType.Float32);
    var loss = nn.functional.cross_entropy(logits, ids[0, 1..]);
    loss.backward();
    optimizer?.step();
}
