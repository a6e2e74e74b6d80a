using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Merging;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Tuners;

/// <summary>
/// Adapters made by Python PEFT 0.21 (get_peft_model + TrainableTokensConfig, random rows, save_pretrained) on the
/// tiny models in tests/fixtures/peft-adapters, with PEFT's own outputs and merged rows recorded beside them
/// (tests/reference/check_against_peft.py). They must load, run and merge here to the same numbers.
/// </summary>
public sealed class PeftAdapterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-peft-").FullName;
    private static string Root => FixtureCase.Root("peft-adapters");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static IEnumerable<object[]> Cases => FixtureCase.Names("peft-adapters");

    [Fact]
    public void There_are_PEFT_made_adapters_for_tied_untied_and_bfloat16_models()
    {
        var names = Cases.Select(c => (string)c[0]).ToList();
        Assert.Contains(names, n => n.Contains("tied"));
        Assert.Contains(names, n => n.Contains("untied-head"));
        Assert.Contains(names, n => n.Contains("bf16"));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_PEFT_adapter_loads_and_gives_PEFTs_outputs(string name)
    {
        var c = FixtureCase.Read("peft-adapters", name);
        var (ids, dtype, dir) = (c.InputIds, c.Dtype, c.Folder);

        using var scope = NewDisposeScope();
        using var model = ModelLoader.Load(c.ModelFolder, ModelDtype.Parse(dtype));
        using var tuner = new TrainableTokensModel(model);
        AdapterFolder.Load(tuner, Path.Combine(dir, "adapter"), "peft");
        using var output = model.Forward(tensor(ids, new long[] { 1, ids.Length }), outputHiddenStates: true);
        using var reference = SafetensorsFile.Open(c.ReferenceFile);

        Assert.True(output.HiddenStates[0].to(ScalarType.Float32).eq(reference.Load("hidden_states.0")).all().item<bool>(), "hidden_states.0 differs");
        double tolerance = c.LogitTolerance;
        double diff = (output.Logits.to(ScalarType.Float32) - reference.Load("logits")).abs().max().item<float>();
        Assert.True(diff <= tolerance, $"logits differ by {diff:E3}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Merging_a_PEFT_adapter_writes_the_rows_PEFT_merges(string name)
    {
        var c = FixtureCase.Read("peft-adapters", name);
        var output = Path.Combine(_dir, name);
        var result = AdapterMerge.Run(new AdapterMergeRequest(c.ModelFolder, new[] { Path.Combine(c.Folder, "adapter") }, output));
        var ids = c.TokenIndices;

        using var scope = NewDisposeScope();
        using var merged = Checkpoint.OpenFolder(output);
        using var reference = SafetensorsFile.Open(c.ReferenceFile);
        var embedding = result.Changes.First(c => c.ModulePath != "lm_head").Tensor;
        Assert.True(merged.Load(embedding).index_select(0, tensor(ids)).to(ScalarType.Float32).eq(reference.Load("merged_rows.embedding")).all().item<bool>());
        if (result.Changes.Any(c => c.ModulePath == "lm_head"))
            Assert.True(merged.Load("lm_head.weight").index_select(0, tensor(ids)).to(ScalarType.Float32).eq(reference.Load("merged_rows.lm_head")).all().item<bool>());
    }

    [Fact]
    public void PEFTs_config_fields_survive_a_round_trip()
    {
        var path = Path.Combine(Root, "llama-f32-tied", "adapter", "adapter_config.json");
        var original = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
        var again = JsonDocument.Parse(TrainableTokensAdapterConfig.FromJson(File.ReadAllText(path), path).ToJson()).RootElement;
        foreach (var property in original.EnumerateObject())
            Assert.Equal(property.Value.GetRawText().Replace(" ", "").Replace("\n", ""), again.GetProperty(property.Name).GetRawText().Replace(" ", "").Replace("\n", "").Replace("\r", ""));
    }
}
