using System;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Generation;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tests.Tokenization;
using TrainableTokens.Core.Tokenization;
using TrainableTokens.Core.Training.Data;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Core.Tests.Generation;

/// <summary>What is worked out before the weights load: chat prompts with the assistant turn opened, the stop ids.</summary>
public sealed class GenerationRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-generation-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("llama3-trimmed", "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", "<|eot_id|>")]
    [InlineData("qwen3-trimmed", "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", "<|im_end|>")]
    [InlineData("gemma3-trimmed", "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n", "<end_of_turn>")]
    public void Messages_are_rendered_with_the_generation_prompt_and_the_end_of_turn_stops(string fixture, string ending, string endOfTurn)
    {
        var folder = Path.Combine(_dir, fixture);
        TinyModelFactory.Create(folder, new TinyModelSpec { ModelType = "llama", TokenizerFolder = TokenizerFixtures.Folder(fixture), MaxPositions = 64 });
        using var plan = GenerationRun.Prepare(new GenerationRequest(folder)
        {
            Messages = new[] { new ChatMessage("user", "Hi") },
            Settings = new GenerationSettings { MaxNewTokens = 4 },
        });
        var text = plan.Tokenizer!.Decode(plan.PromptIds.Select(i => (int)i).ToList());
        Assert.EndsWith(ending, text);
        Assert.Contains(plan.Tokenizer.TokenToId(endOfTurn)!.Value, plan.Settings.EosTokenIds);
        Assert.Contains(plan.Config.EosTokenId!.Value, plan.Settings.EosTokenIds);
    }

    [Fact]
    public void Eos_ids_come_from_config_generation_config_and_the_tokenizer_and_an_explicit_list_replaces_them()
    {
        var folder = Path.Combine(_dir, "eos");
        TinyModelFactory.Create(folder, new TinyModelSpec { ModelType = "llama", TokenizerFolder = TokenizerFixtures.Folder("llama3-trimmed") });
        File.WriteAllText(Path.Combine(folder, EosTokenIds.GenerationConfigFileName), "{\"eos_token_id\": [7, 9]}");
        using var tokenizer = ModelTokenizer.Load(folder);
        var ids = EosTokenIds.Read(folder, tokenizer.EosTokenId);
        Assert.Contains(7, ids);
        Assert.Contains(9, ids);
        Assert.Contains(tokenizer.EosTokenId!.Value, ids);
        using var plan = GenerationRun.Prepare(new GenerationRequest(folder) { Prompt = "x", Settings = new GenerationSettings { EosTokenIds = new[] { 5 } } });
        Assert.Equal(new[] { 5 }, plan.Settings.EosTokenIds);
        File.WriteAllText(Path.Combine(folder, EosTokenIds.GenerationConfigFileName), "{\"eos_token_id\": \"end\"}");
        var e = Assert.Throws<InvalidModelFolderException>(() => EosTokenIds.Read(folder, null));
        Assert.Contains("generation_config.json", e.Message);
    }

    [Fact]
    public void An_unknown_device_name_is_an_unusable_device_error_before_anything_loads()
    {
        var folder = Path.Combine(_dir, "device");
        TinyModelFactory.Create(folder, new TinyModelSpec { ModelType = "llama", TokenizerFolder = TokenizerFixtures.Folder("llama3-trimmed") });
        foreach (var device in new[] { "gpu", "cuda:x", "CPU" })
        {
            var e = Assert.Throws<UnusableDeviceException>(() => GenerationRun.Run(new GenerationRequest(folder) { InputIds = new long[] { 1 }, Device = device }));
            Assert.Contains("cpu, cuda or cuda:N", e.Message);
        }
    }

    [Fact]
    public void An_adapter_for_another_architecture_is_refused_before_the_weights_load()
    {
        var folder = Path.Combine(_dir, "arch");
        TinyModelFactory.Create(folder, new TinyModelSpec { ModelType = "llama", TokenizerFolder = TokenizerFixtures.Folder("llama3-trimmed") });
        // GPT-2's embedding rows, of this model's hidden size: only the targets tell it is not for a Llama model.
        var adapter = Path.Combine(_dir, "gpt2-adapter");
        Directory.CreateDirectory(adapter);
        var config = new TrainableTokensAdapterConfig { TokenIndices = new long[] { 5 }, TargetModules = TargetModules.Regex("transformer.wte") };
        File.WriteAllText(Path.Combine(adapter, TrainableTokensAdapterConfig.FileName), config.ToJson());
        using (var rows = TorchSharp.torch.full(1, 64, 0.1f))
            Core.IO.SafetensorsWriter.Write(Path.Combine(adapter, AdapterFolder.WeightsFileName),
                [new System.Collections.Generic.KeyValuePair<string, TorchSharp.torch.Tensor>(AdapterFolder.KeyFor("transformer.wte"), rows)],
                new System.Collections.Generic.Dictionary<string, string> { ["format"] = "pt" });
        var e = Assert.Throws<InvalidAdapterException>(() => GenerationRun.Prepare(new GenerationRequest(folder) { InputIds = new long[] { 1 }, AdapterFolders = new[] { adapter } }).Dispose());
        Assert.Contains("transformer.wte", e.Message);
    }

    [Fact]
    public void Adapters_that_train_the_same_token_are_refused_before_the_weights_load()
    {
        var folder = Path.Combine(_dir, "overlap");
        TinyModelFactory.Create(folder, new TinyModelSpec { ModelType = "llama", TokenizerFolder = TokenizerFixtures.Folder("llama3-trimmed") });
        string Adapter(string name, long[] ids)
        {
            var adapter = Path.Combine(_dir, name);
            Directory.CreateDirectory(adapter);
            File.WriteAllText(Path.Combine(adapter, TrainableTokensAdapterConfig.FileName), new TrainableTokensAdapterConfig { TokenIndices = ids }.ToJson());
            using var rows = TorchSharp.torch.full(ids.Length, 64, 0.1f);
            Core.IO.SafetensorsWriter.Write(Path.Combine(adapter, AdapterFolder.WeightsFileName),
                [new System.Collections.Generic.KeyValuePair<string, TorchSharp.torch.Tensor>(AdapterFolder.KeyFor("model.embed_tokens"), rows)],
                new System.Collections.Generic.Dictionary<string, string> { ["format"] = "pt" });
            return adapter;
        }
        var a = Adapter("first", new long[] { 5, 6 });
        var b = Adapter("second", new long[] { 6, 7 });

        var e = Assert.Throws<AdapterConflictException>(() => GenerationRun.Prepare(new GenerationRequest(folder) { InputIds = new long[] { 1 }, AdapterFolders = new[] { a, b } }).Dispose());

        Assert.Contains("6", e.Message);
    }

    [Fact]
    public void A_loaded_model_is_reused_for_the_next_prompt_and_replaced_for_other_adapters()
    {
        var folder = Path.Combine(_dir, "reuse");
        TinyModelFactory.Create(folder, new TinyModelSpec { ModelType = "llama", TokenizerFolder = TokenizerFixtures.Folder("llama3-trimmed") });
        var adapter = Path.Combine(_dir, "adapter");
        using (var model = ModelLoader.Load(folder))
        using (var tuner = new TrainableTokensModel(model))
        {
            tuner.AddAdapter("default", new TrainableTokensAdapterConfig { TokenIndices = new long[] { 5, 6 }, InitWeights = false }, new TorchSharp.torch.Generator(1));
            AdapterFolder.Save(tuner, "default", adapter, overwrite: false);
        }
        GenerationRun.LoadedModel? loaded = null;
        try
        {
            var request = new GenerationRequest(folder) { InputIds = new long[] { 5, 6, 7 }, Settings = new GenerationSettings { MaxNewTokens = 3 } };
            var first = GenerationRun.Run(request, ref loaded);
            var kept = loaded;
            var second = GenerationRun.Run(request with { InputIds = new long[] { 9, 8 } }, ref loaded);
            Assert.Same(kept, loaded);
            var alone = GenerationRun.Run(request with { InputIds = new long[] { 9, 8 } });
            Assert.Equal(alone.GeneratedIds, second.GeneratedIds);
            var adapted = GenerationRun.Run(request with { AdapterFolders = new[] { adapter } }, ref loaded);
            Assert.NotSame(kept, loaded);
            Assert.Equal(GenerationRun.Run(request with { AdapterFolders = new[] { adapter } }).GeneratedIds, adapted.GeneratedIds);
            Assert.Equal(first.GeneratedIds, GenerationRun.Run(request).GeneratedIds);
        }
        finally
        {
            loaded?.Dispose();
        }
    }
}
