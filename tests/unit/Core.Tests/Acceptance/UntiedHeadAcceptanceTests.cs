using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tokenization;
using TrainableTokens.Core.Training;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Acceptance;

/// <summary>
/// The check for output heads: a tiny untied model with a byte-level tokenizer and two new tokens, trained with
/// its head, predicts the new token after its cue; and a reference built from plain tensor operations (the adapter's
/// rows written into copies of the embedding and head matrices, then the un-adapted model) gives our logits.
/// </summary>
public sealed class UntiedHeadAcceptanceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-head-accept-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>GPT-2's byte-to-character map: every byte is one vocabulary entry, ids 0 to 255 in byte order, no merges.</summary>
    private static string ByteLevelTokenizerJson()
    {
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range(0xA1, 0xAC - 0xA1 + 1)).Concat(Enumerable.Range(0xAE, 0xFF - 0xAE + 1)).ToHashSet();
        var vocab = new SortedDictionary<int, string>();
        int next = 0;
        for (int b = 0; b < 256; b++) vocab[b] = char.ConvertFromUtf32(printable.Contains(b) ? b : 256 + next++);
        var model = new Dictionary<string, object?>
        {
            ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
            ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
            ["vocab"] = vocab.ToDictionary(kv => kv.Value, kv => kv.Key), ["merges"] = Array.Empty<string>(),
        };
        var byteLevel = new Dictionary<string, object> { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
        var json = new Dictionary<string, object?>
        {
            ["version"] = "1.0", ["truncation"] = null, ["padding"] = null, ["added_tokens"] = Array.Empty<object>(), ["normalizer"] = null,
            ["pre_tokenizer"] = byteLevel, ["post_processor"] = null, ["decoder"] = byteLevel, ["model"] = model,
        };
        return JsonSerializer.Serialize(json);
    }

    /// <summary>The model: untied llama, byte-level tokenizer, two tokens added (the embedding and the head grow to 258 rows).</summary>
    private string NewModel()
    {
        var baseFolder = Path.Combine(_dir, "base");
        TinyModelFactory.Create(baseFolder, new TinyModelSpec { ModelType = "llama", TieWordEmbeddings = false, VocabSize = 256, HiddenSize = 32, IntermediateSize = 64, NumLayers = 1, Seed = 3 });
        File.WriteAllText(Path.Combine(baseFolder, "tokenizer.json"), ByteLevelTokenizerJson(), new UTF8Encoding(false));
        File.WriteAllText(Path.Combine(baseFolder, "tokenizer_config.json"), """{"add_bos_token": false, "add_eos_token": false, "model_max_length": 128}""");
        var modelFolder = Path.Combine(_dir, "model");
        TokenAdder.Run(new AddTokensRequest { Source = baseFolder, Output = modelFolder, Tokens = new[] { "<think>", "</think>" } });
        return modelFolder;
    }

    private RunConfig Run(string modelFolder, IReadOnlyList<int> ids, string output, int maxSteps, int saveSteps = 1000, string? resume = null, int batchSize = 8)
    {
        var data = Path.Combine(_dir, "train.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 8).Select(i => JsonSerializer.Serialize(new { text = $"q{i} ask:<think>ok</think>" })));
        return new RunConfig
        {
            TrainableTokens = new TrainableTokensConfig { TokenIndices = ids, TargetModules = StringOrList.FromList(TokenSelection.WithOutputHead(null, modelFolder)) },
            Training = new TrainingConfig
            {
                BaseModel = modelFolder, Dataset = data, OutputDir = Path.Combine(_dir, output), LearningRate = 0.05, LrSchedulerType = "constant",
                MaxSteps = maxSteps, PerDeviceTrainBatchSize = batchSize, MaxSeqLength = 32, SaveSteps = saveSteps, Seed = 5, ResumeFromCheckpoint = resume,
            },
        };
    }

    [Fact]
    public void Trained_with_its_head_the_new_token_is_predicted_after_its_cue_and_a_plain_reference_gives_our_logits()
    {
        var modelFolder = NewModel();
        var (ids, problems) = TokenSelection.Resolve(modelFolder, new[] { "<think>", "</think>" });
        Assert.Empty(problems);
        Assert.Equal(new[] { 256, 257 }, ids);
        using (var tokenizer = ModelTokenizer.Load(modelFolder))
            Assert.Equal(4, tokenizer.Encode("ask:", addSpecialTokens: false).Length);   // byte-level: one token per byte

        var config = Run(modelFolder, ids, "adapter", maxSteps: 30);
        Assert.Equal(new[] { "embed_tokens", "lm_head" }, config.TrainableTokens!.TargetModules!.Items);
        var result = Trainer.Run(new TrainingRequest(config));
        Assert.True(result.FinalLoss < result.FirstLoss, $"loss {result.FirstLoss} -> {result.FinalLoss}");

        using var scope = NewDisposeScope();
        var cue = tensor(Encoding.UTF8.GetBytes("q9 ask:").Select(b => (long)b).ToArray(), new long[] { 1, 7 });
        using var model = ModelLoader.Load(modelFolder);
        using var before = model.Forward(cue);
        Assert.NotEqual(256L, before.Logits[0, -1].argmax().item<long>());
        using var tuner = new TrainableTokensModel(model);
        AdapterFolder.Load(tuner, result.AdapterFolder!, "trained");
        Assert.Equal(2, tuner.TrainableParameters("trained").Count);
        using var adapted = model.Forward(cue);
        Assert.Equal(256L, adapted.Logits[0, -1].argmax().item<long>());

        // The reference: the base model's own weights, the adapter's rows copied in with index_copy_, no tuner.
        using var reference = ModelLoader.Load(modelFolder);
        using (var file = SafetensorsFile.Open(Path.Combine(result.AdapterFolder!, "adapter_model.safetensors")))
        using (no_grad())
        {
            Assert.Equal(new[] { "base_model.model.lm_head.trainable_tokens_delta", "base_model.model.model.embed_tokens.trainable_tokens_delta" },
                file.Tensors.Select(t => t.Name).OrderBy(n => n, StringComparer.Ordinal));
            var index = tensor(new long[] { 256, 257 });
            reference.Weights["model.embed_tokens.weight"].index_copy_(0, index, file.Load("base_model.model.model.embed_tokens.trainable_tokens_delta"));
            reference.Weights["lm_head.weight"].index_copy_(0, index, file.Load("base_model.model.lm_head.trainable_tokens_delta"));
        }
        var sequence = tensor(Encoding.UTF8.GetBytes("q1 ask:").Select(b => (long)b).Concat(new long[] { 256, 111, 107, 257 }).ToArray(), new long[] { 1, 11 });
        using var ours = model.Forward(sequence);
        using var plain = reference.Forward(sequence);
        var difference = (ours.Logits - plain.Logits).abs().max().item<float>();
        Assert.True(difference <= 1e-5, $"logits differ by {difference:E3}");
    }

    [Fact]
    public void A_resumed_run_that_trains_the_head_ends_with_exactly_the_uninterrupted_rows_of_both_layers()
    {
        var modelFolder = NewModel();
        var ids = new[] { 256, 257 };
        var whole = Trainer.Run(new TrainingRequest(Run(modelFolder, ids, "whole", maxSteps: 5, saveSteps: 2, batchSize: 2)));
        using (var cancel = new System.Threading.CancellationTokenSource())
        {
            var part = Trainer.Run(new TrainingRequest(Run(modelFolder, ids, "parts", maxSteps: 5, saveSteps: 2, batchSize: 2)),
                new SyncProgress(p => { if (p.Step == 3) cancel.Cancel(); }), cancel.Token);
            Assert.True(part.Cancelled);
        }
        var checkpoint = Path.Combine(_dir, "parts", "checkpoint-2");
        using (var optimizer = SafetensorsFile.Open(Path.Combine(checkpoint, "optimizer.safetensors")))
            Assert.Equal(new[] { "state.0.exp_avg", "state.0.exp_avg_sq", "state.1.exp_avg", "state.1.exp_avg_sq" }, optimizer.Tensors.Select(t => t.Name).Order());
        var resumed = Trainer.Run(new TrainingRequest(Run(modelFolder, ids, "parts", maxSteps: 5, saveSteps: 2, resume: "latest", batchSize: 2)));

        Assert.Equal(whole.FinalLoss, resumed.FinalLoss);
        using var a = SafetensorsFile.Open(Path.Combine(whole.AdapterFolder!, "adapter_model.safetensors"));
        using var b = SafetensorsFile.Open(Path.Combine(resumed.AdapterFolder!, "adapter_model.safetensors"));
        foreach (var key in new[] { "base_model.model.model.embed_tokens.trainable_tokens_delta", "base_model.model.lm_head.trainable_tokens_delta" })
        {
            using var scope = NewDisposeScope();
            Assert.True(a.Load(key).eq(b.Load(key)).all().item<bool>(), $"{key} differs");
        }
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
