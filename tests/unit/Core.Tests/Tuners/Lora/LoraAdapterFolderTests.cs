using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;
using static TrainableTokens.Core.Tests.Tuners.Lora.LoraTestModels;

namespace TrainableTokens.Core.Tests.Tuners.Lora;

/// <summary>LoRA adapters saved and loaded in PEFT's file format.</summary>
public sealed class LoraAdapterFolderTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "lora-folder-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private string Saved(LoraConfig config, string type = "llama")
    {
        var folder = Path.Combine(_root, "adapter");
        using var model = Build(type);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", config);
        Randomize(tuner);
        LoraAdapterFolder.Save(tuner, "default", folder, overwrite: false);
        return folder;
    }

    [Fact]
    public void Save_writes_PEFTs_keys_and_shapes_without_the_adapter_name()
    {
        var folder = Saved(Config("q_proj", "down_proj") with { RankPattern = new[] { new KeyValuePair<string, int>("down_proj", 2) } });
        Assert.Equal(new[] { "adapter_config.json", "adapter_model.safetensors" }, Directory.GetFiles(folder).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
        using var file = SafetensorsFile.Open(Path.Combine(folder, AdapterFolder.WeightsFileName));
        Assert.Equal(8, file.Tensors.Count);
        Assert.Equal(new long[] { 4, 64 }, file.Info("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").Shape);
        Assert.Equal(new long[] { 64, 4 }, file.Info("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight").Shape);
        Assert.Equal(new long[] { 2, 128 }, file.Info("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight").Shape);
        Assert.Equal(new long[] { 64, 2 }, file.Info("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight").Shape);
        Assert.All(file.Tensors, t => Assert.Equal(SafetensorsDType.F32, t.DType));
        Assert.Contains("\"peft_type\": \"LORA\"", File.ReadAllText(Path.Combine(folder, "adapter_config.json")));
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("qwen3")]
    public void Save_then_load_round_trips_bit_exactly(string type)
    {
        using var scope = NewDisposeScope();
        var folder = Path.Combine(_root, "adapter");
        using var model = Build(type);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Config("q_proj", "v_proj", "up_proj") with { UseRslora = true, LoraAlpha = 5 });
        Randomize(tuner);
        var logits = model.Forward(Ids()).Logits;
        LoraAdapterFolder.Save(tuner, "default", folder, overwrite: false);

        using var model2 = Build(type);
        using var tuner2 = new LoraModel(model2);
        var config = LoraAdapterFolder.Load(tuner2, folder, "loaded");
        Assert.Equal(tuner.Configs["default"].ToJson(), config.ToJson());
        Assert.Equal(tuner.Layers.Keys, tuner2.Layers.Keys);
        foreach (var (a, b) in tuner.TrainableParameters("default").Zip(tuner2.TrainableParameters("loaded")))
            Assert.True(Same(a, b));
        Assert.True(Same(logits, model2.Forward(Ids()).Logits));
    }

    [Fact]
    public void Load_names_the_tensor_whose_shape_does_not_fit()
    {
        var folder = Saved(Config("q_proj"));
        using var model = Build("llama");
        using var tuner = new LoraModel(model);
        // The same file read as rank 2 no longer fits.
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), (Config("q_proj") with { R = 2 }).ToJson());
        var e = Assert.Throws<InvalidAdapterException>(() => LoraAdapterFolder.Load(tuner, folder, "default"));
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", e.Message);
        Assert.Contains("[4, 64]", e.Message);
        Assert.Empty(tuner.Configs);
        Assert.All(model.LinearLayers, l => Assert.IsNotType<LoraLinear>(l));
    }

    [Fact]
    public void Load_refuses_a_missing_tensor_and_stray_ones()
    {
        var folder = Saved(Config("q_proj"));
        using var model = Build("llama");
        using var tuner = new LoraModel(model);
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), Config("q_proj", "k_proj").ToJson());
        var missing = Assert.Throws<InvalidAdapterException>(() => LoraAdapterFolder.Load(tuner, folder, "default"));
        Assert.Contains("k_proj.lora_A.weight", missing.Message);
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), (Config("q_proj") with { LayersToTransform = new[] { 0 } }).ToJson());
        var stray = Assert.Throws<InvalidAdapterException>(() => LoraAdapterFolder.Load(tuner, folder, "default"));
        Assert.Contains("model.layers.1.self_attn.q_proj.lora_A.weight", stray.Message);
        Assert.Empty(tuner.Configs);
    }

    [Fact]
    public void Load_refuses_token_rows_that_are_missing_or_not_in_the_config()
    {
        var folder = Saved(Config("q_proj"));
        using var model = Build("llama");
        using var tuner = new LoraModel(model);
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), (Config("q_proj") with { TrainableTokenIndices = new long[] { 5 } }).ToJson());
        // The config asks for rows the file does not hold.
        var e = Assert.Throws<InvalidAdapterException>(() => LoraAdapterFolder.Load(tuner, folder, "default"));
        Assert.Contains("base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta", e.Message);
        Assert.Contains("trainable_token_indices", e.Message);
        Assert.Empty(tuner.Configs);
        Assert.Empty(tuner.Tokens.Layouts);

        // A tensor the config does not account for (here PEFT's token rows) is refused too, never dropped.
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), Config("q_proj").ToJson());
        var weights = Path.Combine(folder, AdapterFolder.WeightsFileName);
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> tensors;
        using (var file = SafetensorsFile.Open(weights))
            tensors = file.Tensors.ToDictionary(t => t.Name, t => file.Load(t.Name));
        tensors["base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta"] = zeros(1, 64);
        SafetensorsWriter.Write(weights, tensors);
        var stray = Assert.Throws<InvalidAdapterException>(() => LoraAdapterFolder.Load(tuner, folder, "default"));
        Assert.Contains("trainable_tokens_delta", stray.Message);
        Assert.Empty(tuner.Configs);
    }

    [Fact]
    public void Load_accepts_keys_that_still_carry_the_adapter_name()
    {
        using var scope = NewDisposeScope();
        var folder = Saved(Config("q_proj"));
        var weights = Path.Combine(folder, AdapterFolder.WeightsFileName);
        Dictionary<string, Tensor> renamed;
        using (var file = SafetensorsFile.Open(weights))
            renamed = file.Tensors.ToDictionary(t => t.Name.Replace(".weight", ".default.weight"), t => file.Load(t.Name));
        SafetensorsWriter.Write(weights, renamed);
        using var model = Build("llama");
        using var tuner = new LoraModel(model);
        LoraAdapterFolder.Load(tuner, folder, "default");
        foreach (var layer in tuner.Layers.Values)
            Assert.True(Same(layer.Adapters["default"].A, renamed["base_model.model." + layer.Path + ".lora_A.default.weight"]));
    }

    [Fact]
    public void Save_refuses_to_replace_a_folder_without_overwrite()
    {
        var folder = Saved(Config("q_proj"));
        using var model = Build("llama");
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", Config("v_proj"));
        Assert.ThrowsAny<TrainableTokensException>(() => LoraAdapterFolder.Save(tuner, "default", folder, overwrite: false));
        LoraAdapterFolder.Save(tuner, "default", folder, overwrite: true);
        Assert.Contains("v_proj", LoraAdapterFolder.ReadConfig(folder).TargetModules!.ToString());
    }

    [Fact]
    public void A_folder_without_a_config_says_so()
    {
        Directory.CreateDirectory(_root);
        var e = Assert.Throws<InvalidAdapterException>(() => LoraAdapterFolder.ReadConfig(_root));
        Assert.Contains("adapter_config.json", e.Message);
    }
}
