using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using TorchSharp.Modules;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Runtime;
using TrainableTokens.Core.Tuners.TrainableTokens;
using TrainStep;
using static TorchSharp.torch;

// usage: TrainStep --vocab 256000 --k 2 --dtype float32 [--modes a,b,c,d] [--steps 3] [--seq 64] [--layers 2]
// Prints one JSON line per mode: median step seconds, peak RSS during the measured steps, RSS before them.
var options = StepBench.Args(args);
int vocab = int.Parse(options.GetValueOrDefault("vocab", "256000"));
int k = int.Parse(options.GetValueOrDefault("k", "2"));
var dtype = ModelDtype.Parse(options.GetValueOrDefault("dtype", "float32"));
var modes = options.GetValueOrDefault("modes", "a,b,c,d").Split(',');
int steps = int.Parse(options.GetValueOrDefault("steps", "3"));
int seq = int.Parse(options.GetValueOrDefault("seq", "64"));
int layers = int.Parse(options.GetValueOrDefault("layers", "2"));

TorchRuntime.EnsureLoaded();
// gemma-2-2b's embedding shape (256000 x 2304, tied head) on a small body of the same width.
var spec = new TinyModelSpec
{
    ModelType = "gemma", VocabSize = vocab, HiddenSize = 2304, IntermediateSize = 9216, NumLayers = layers,
    NumHeads = 8, NumKeyValueHeads = 4, HeadDim = 256, MaxPositions = 8192, TieWordEmbeddings = true,
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

foreach (var mode in modes)
{
    var (step, cleanup) = Prepare(mode);
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
        mode, vocab, k, dtype = ModelDtype.Name(dtype), seq, layers, steps,
        median_step_s = times[times.Count / 2], min_step_s = times[0], rss_before_bytes = before, peak_rss_bytes = peak,
    }));
}
return 0;

(Action Step, Action Cleanup) Prepare(string mode)
{
    var embedding = model.InputEmbedding;
    var head = model.Head;
    switch (mode)
    {
        case "a": // this module's layer: gather + where, k columns overwritten in the tied head
        {
            var tuner = new TrainableTokensModel(model);
            tuner.AddAdapter("bench", new TrainableTokensAdapterConfig { TokenIndices = tokens });
            var optimizer = optim.AdamW(tuner.TrainableParameters("bench"), lr: 1e-3);
            return (() => Train(optimizer), () => { optimizer.Dispose(); tuner.Dispose(); });
        }
        case "b": // PEFT's full-matrix index_copy formulation
        {
            var index = tensor(tokens).DetachFromDisposeScope();
            var rows = new Parameter(embedding.Weight.index_select(0, index).to(ScalarType.Float32).DetachFromDisposeScope(), requires_grad: true);
            var peft = new PeftStyleEmbedding(embedding.Path, embedding.Weight, index, rows);
            model.InputEmbedding = peft;
            model.Head = peft;
            var optimizer = optim.AdamW(new[] { rows }, lr: 1e-3);
            return (() => Train(optimizer), () => { optimizer.Dispose(); rows.Dispose(); index.Dispose(); model.InputEmbedding = embedding; model.Head = head; });
        }
        case "c": // the whole embedding matrix trained (tied head included)
        {
            var full = new Parameter(embedding.Weight.detach().clone().DetachFromDisposeScope(), requires_grad: true);
            var table = new EmbeddingTable(embedding.Path, full);
            model.InputEmbedding = table;
            model.Head = new LinearHead(head.Path, full);
            var optimizer = optim.AdamW(new[] { full }, lr: 1e-3);
            return (() => Train(optimizer), () => { optimizer.Dispose(); full.Dispose(); model.InputEmbedding = embedding; model.Head = head; });
        }
        case "d": // the floor: nothing trainable, gradients only for the activations
        {
            var floor = new ActivationFloor(embedding);
            model.InputEmbedding = floor;
            return (() => Train(null), () => { model.InputEmbedding = embedding; });
        }
        default: throw new ArgumentException($"Unknown mode '{mode}'.");
    }
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
