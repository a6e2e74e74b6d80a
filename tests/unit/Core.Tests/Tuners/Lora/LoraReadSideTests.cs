using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Merging;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Scoring;
using TrainableTokens.Core.Tuners;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Tuners.Lora;

/// <summary>LoRA adapters where scoring, generation and acceptance load adapters: one loader for both tuners, chosen by peft_type.</summary>
public sealed class LoraReadSideTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-lora-read-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A LoRA adapter trained-looking (seeded, B not zero) on the example Llama 3 model, saved by this module.</summary>
    private string LoraAdapter(string name, string targets = "all-linear", long[]? tokens = null)
    {
        var folder = Path.Combine(_dir, name);
        using var scope = NewDisposeScope();
        using var model = ModelLoader.Load(Examples.Llama3);
        using var tuner = new LoraModel(model);
        tuner.AddAdapter("default", new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = targets == "all-linear" ? LoraTargets.FromString(targets) : LoraTargets.List(new[] { targets }), BaseModelNameOrPath = Examples.Llama3, TrainableTokenIndices = tokens });
        var generator = new Generator(5);
        using var noGrad = no_grad();
        foreach (var p in tuner.TrainableParameters("default")) p.copy_(randn(p.shape, generator: generator).mul_(0.2));
        LoraAdapterFolder.Save(tuner, "default", folder, overwrite: false);
        return folder;
    }

    private string TokensAdapter(string name, long id)
    {
        var folder = Path.Combine(_dir, name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), $$"""{"peft_type": "TRAINABLE_TOKENS", "token_indices": [{{id}}], "target_modules": "model.embed_tokens"}""");
        using var scope = NewDisposeScope();
        SafetensorsWriter.Write(Path.Combine(folder, "adapter_model.safetensors"), [new(AdapterFolder.KeyFor("model.embed_tokens"), full(1, 32, 0.25f))], new Dictionary<string, string> { ["format"] = "pt" });
        return folder;
    }

    [Fact]
    public void The_adapter_stack_loads_each_folder_by_its_peft_type_and_disabling_gives_the_base_model_exactly()
    {
        var lora = LoraAdapter("lora");
        var tokens = TokensAdapter("tokens", 300);
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 1, 300, 17, 42, 300, 9 }, new long[] { 1, 6 });
        using var noGrad = no_grad();
        using var plain = ModelLoader.Load(Examples.Llama3);
        var baseLogits = plain.Forward(ids).Logits;

        using var model = ModelLoader.Load(Examples.Llama3);
        using var stack = AdapterStack.Load(model, [lora, tokens]);
        Assert.Equal(new[] { "adapter1", "adapter0" }, stack.Names);
        var adapted = model.Forward(ids).Logits;

        var merged = Path.Combine(_dir, "merged");
        AdapterMerge.Run(new AdapterMergeRequest(Examples.Llama3, [lora, tokens], merged));
        using var mergedModel = ModelLoader.Load(merged);
        Assert.True(adapted.allclose(mergedModel.Forward(ids).Logits, rtol: 1e-4, atol: 1e-5), "both adapters loaded must give the merged model's logits");
        Assert.False(adapted.allclose(baseLogits, rtol: 1e-3, atol: 1e-3));

        stack.Disable();
        Assert.True(model.Forward(ids).Logits.eq(baseLogits).all().item<bool>());
        stack.Enable();
        Assert.True(model.Forward(ids).Logits.eq(adapted).all().item<bool>());
    }

    [Fact]
    public void A_tokens_adapter_and_a_lora_adapter_with_its_own_token_rows_both_apply_when_stacked()
    {
        // Both put rows on the embedding: one tuner must hold them, or the second wrapper hides the first's rows.
        var lora = LoraAdapter("lora-rows", "q_proj", [301]);
        var tokens = TokensAdapter("tokens", 300);
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 1, 300, 17, 301, 300, 9 }, new long[] { 1, 6 });
        using var noGrad = no_grad();
        using var model = ModelLoader.Load(Examples.Llama3);
        using var stack = AdapterStack.Load(model, [tokens, lora]);
        var adapted = model.Forward(ids).Logits;
        var merged = Path.Combine(_dir, "merged-both");
        AdapterMerge.Run(new AdapterMergeRequest(Examples.Llama3, [tokens, lora], merged));
        using var mergedModel = ModelLoader.Load(merged);
        Assert.True(adapted.allclose(mergedModel.Forward(ids).Logits, rtol: 1e-4, atol: 1e-5), "the rows of both adapters must apply");
        stack.Disable();
        stack.Enable();
        Assert.True(model.Forward(ids).Logits.eq(adapted).all().item<bool>());
    }

    [Fact]
    public void Scoring_with_a_lora_adapter_scores_the_adapted_model_and_without_it_the_base()
    {
        var lora = LoraAdapter("lora");
        var merged = Path.Combine(_dir, "merged");
        AdapterMerge.Run(new AdapterMergeRequest(Examples.Llama3, [lora], merged));
        const string text = "The quick brown fox jumps over the lazy dog.";
        using var withAdapter = ModelScorer.Open(new ScoringModel(Examples.Llama3, [lora]));
        using var mergedScorer = ModelScorer.Open(new ScoringModel(merged, []));
        using var baseScorer = ModelScorer.Open(new ScoringModel(Examples.Llama3, []));
        var adapted = withAdapter.ScoreText(text).Tokens.Select(t => t.LogProbability).ToList();
        var reference = mergedScorer.ScoreText(text).Tokens.Select(t => t.LogProbability).ToList();
        Assert.Equal(reference.Count, adapted.Count);
        for (var i = 0; i < adapted.Count; i++) Assert.Equal(reference[i], adapted[i], 4);
        Assert.Equal(baseScorer.ScoreText(text).Tokens.Select(t => t.LogProbability), withAdapter.ScoreText(text, withAdapters: false).Tokens.Select(t => t.LogProbability));
    }

    [Fact]
    public void A_lora_adapter_for_another_model_is_refused_before_anything_loads()
    {
        var tiny = Path.Combine(_dir, "other");
        TinyModelFactory.Create(tiny, new TinyModelSpec { ModelType = "llama" });
        var lora = LoraAdapter("lora");
        var e = Assert.Throws<InvalidAdapterException>(() => ModelScorer.Open(new ScoringModel(tiny, [lora])));
        Assert.Contains("does not fit the model", e.Message);
        Assert.Contains("lora_A.weight", e.Message);
    }

    [Fact]
    public void Overlapping_token_ids_of_a_lora_adapter_and_a_tokens_adapter_are_refused()
    {
        var lora = Path.Combine(_dir, "lora-tokens");
        Directory.CreateDirectory(lora);
        File.WriteAllText(Path.Combine(lora, "adapter_config.json"), """{"peft_type": "LORA", "r": 2, "lora_alpha": 2, "target_modules": ["q_proj"], "trainable_token_indices": [300, 301]}""");
        var tokens = TokensAdapter("tokens", 301);
        var e = Assert.Throws<AdapterConflictException>(() => AdapterCompatibility.EnsureDisjoint([tokens, lora]));
        Assert.Contains("301", e.Message);
    }

    [Fact]
    public void A_lora_adapter_where_only_trainable_tokens_are_read_is_an_error_naming_peft_type()
    {
        var lora = LoraAdapter("lora", "q_proj");
        var e = Assert.Throws<InvalidAdapterException>(() => AdapterFolder.ReadConfig(lora));
        Assert.Contains("peft_type is \"LORA\"", e.Message);
        Assert.Contains("TRAINABLE_TOKENS", e.Message);
        Assert.Contains("Merge-TokenAdapter", e.Message);
    }

    [Fact]
    public void The_base_model_of_a_lora_adapter_is_found_from_its_config()
    {
        var lora = LoraAdapter("lora", "q_proj");
        Assert.Equal(Path.GetFullPath(Examples.Llama3), AdapterBaseModel.Resolve([lora], _dir));
    }

    [Fact]
    public void Acceptance_checks_of_a_lora_adapter_pass_and_say_which_tensors_may_change()
    {
        var lora = LoraAdapter("lora", "q_proj");
        var checks = AdapterAcceptance.Run(new AdapterTestRequest(lora, Examples.Llama3) { Dataset = Examples.QuickstartData, MaxSeqLength = 64 });
        Assert.Equal(new[] { "PeftLayout", "RowsFinite", "MatchesModel", "OnlyListedRowsChange", "EvalLossLower" }, checks.Select(c => c.Name));
        Assert.All(checks.Take(4), c => Assert.Equal(AdapterCheckOutcome.Passed, c.Outcome));
        Assert.Contains("2 LoRA pair(s)", checks[0].Detail);
        Assert.Contains("changed: 2 of the 2 targeted or saved tensor(s)", checks[3].Detail);
        Assert.NotEqual(AdapterCheckOutcome.Skipped, checks[4].Outcome);
    }

    [Fact]
    public void The_merge_check_fails_a_lora_merge_that_changes_a_tensor_the_adapter_does_not_target()
    {
        var merge = new AdapterMergeResult("out", ["a"], [new MergedRows("a", "model.embed_tokens", "model.embed_tokens.weight", "f", "F32", [7])], 0, 0)
        {
            Tensors = [new MergedTensor(["a"], "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.q_proj.weight", "f", "F32", "+ 2 * B @ A (rank 4)")],
        };
        var fine = new FolderDifference([new ChangedTensor("model.layers.0.self_attn.q_proj.weight", [0, 1, 2], false), new ChangedTensor("model.embed_tokens.weight", [7], false)], [], [], []);
        Assert.Equal(AdapterCheckOutcome.Passed, LoraAcceptance.Judge(fine, merge).Outcome);
        var stray = new FolderDifference([new ChangedTensor("model.layers.1.self_attn.q_proj.weight", [0], false), new ChangedTensor("model.embed_tokens.weight", [7, 8], false)], [], [], []);
        var check = LoraAcceptance.Judge(stray, merge);
        Assert.Equal(AdapterCheckOutcome.Failed, check.Outcome);
        Assert.Contains("model.layers.1.self_attn.q_proj.weight", check.Detail);
        Assert.Contains("rows 8", check.Detail);
    }
}
