using System;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tests.IO;

namespace TrainableTokens.Core.Tests.Models;

/// <summary>New-TinyModel's folder appears complete or not at all.</summary>
public sealed class TinyModelFactoryTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void A_create_that_fails_after_config_json_was_written_leaves_no_folder_and_no_temporary_one()
    {
        // config.json is written before the dtype of the weights is parsed, so this fails halfway through the folder.
        var error = Assert.Throws<ArgumentException>(() =>
            TinyModelFactory.Create(_temp.File("m"), new TinyModelSpec { ModelType = "llama", Dtype = "int8" }));

        Assert.Contains("dtype 'int8'", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_temp.Path));
    }

    [Fact]
    public void A_failed_create_over_an_existing_model_leaves_that_model_as_it_was()
    {
        var path = _temp.File("m");
        TinyModelFactory.Create(path, new TinyModelSpec { ModelType = "llama", Seed = 1 });
        var before = Directory.GetFiles(path).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList();

        Assert.Throws<ArgumentException>(() => TinyModelFactory.Create(path, new TinyModelSpec { ModelType = "llama", Dtype = "int8" }, overwrite: true));

        Assert.Equal(before, Directory.GetFiles(path).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList());
        Assert.Equal(new[] { path }, Directory.GetFileSystemEntries(_temp.Path));
    }
}
