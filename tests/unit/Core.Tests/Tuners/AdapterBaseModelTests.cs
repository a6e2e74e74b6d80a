using System;
using System.IO;
using TrainableTokens.Core.Tuners.TrainableTokens;
using Xunit;

namespace TrainableTokens.Core.Tests.Tuners;

public sealed class AdapterBaseModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-basemodel-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Only the config matters here: resolving the base model never opens the weights.
    private string Adapter(string name, string? baseModel)
    {
        var folder = Path.Combine(_dir, name);
        Directory.CreateDirectory(folder);
        var value = baseModel is null ? "null" : "\"" + baseModel.Replace("\\", "\\\\") + "\"";
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"),
            $$"""{"peft_type": "TRAINABLE_TOKENS", "token_indices": [5], "base_model_name_or_path": {{value}}}""");
        return folder;
    }

    private string Model(string name)
    {
        var folder = Path.Combine(_dir, name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), "{}");
        return folder;
    }

    [Fact]
    public void An_absolute_local_folder_is_the_model()
    {
        var model = Model("base");
        Assert.Equal(model, AdapterBaseModel.Resolve(new[] { Adapter("a", model) }, "/"));
    }

    [Fact]
    public void A_relative_name_is_tried_against_the_current_directory_before_the_adapter_folder()
    {
        var here = Model("here/base");
        Model("adapters/base");
        var adapter = Adapter("adapters/a", "../base");
        // From _dir/here/x, ../base is _dir/here/base; from the adapter folder it would be _dir/adapters/base.
        Directory.CreateDirectory(Path.Combine(_dir, "here/x"));
        Assert.Equal(here, AdapterBaseModel.Resolve(new[] { adapter }, Path.Combine(_dir, "here/x")));
        Assert.Equal(Path.Combine(_dir, "adapters/base"), AdapterBaseModel.Resolve(new[] { adapter }, "/"));
    }

    [Fact]
    public void A_hub_name_is_refused_naming_it_and_asking_for_Model()
    {
        var e = Assert.Throws<BaseModelNotFoundException>(() => AdapterBaseModel.Resolve(new[] { Adapter("a", "meta-llama/Llama-3.2-1B") }, _dir));
        Assert.Contains("meta-llama/Llama-3.2-1B", e.Message);
        Assert.Contains("-Model", e.Message);
        Assert.Equal("BaseModelNotFound", e.ErrorId);
    }

    [Fact]
    public void A_missing_base_model_name_is_refused()
    {
        var e = Assert.Throws<BaseModelNotFoundException>(() => AdapterBaseModel.Resolve(new[] { Adapter("a", null) }, _dir));
        Assert.Contains("no base_model_name_or_path", e.Message);
    }

    [Fact]
    public void Adapters_that_name_different_models_are_refused()
    {
        var one = Model("one");
        var two = Model("two");
        var e = Assert.Throws<BaseModelNotFoundException>(() => AdapterBaseModel.Resolve(new[] { Adapter("a", one), Adapter("b", two) }, _dir));
        Assert.Contains(one, e.Message);
        Assert.Contains(two, e.Message);
    }

    [Fact]
    public void Adapters_that_name_the_same_model_agree()
    {
        var model = Model("base");
        Assert.Equal(model, AdapterBaseModel.Resolve(new[] { Adapter("a", model), Adapter("b", model + "/") }, _dir));
    }
}
