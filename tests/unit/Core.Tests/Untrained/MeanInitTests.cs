using System;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Tokenization;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Untrained;

/// <summary>Add-TokenizerToken -InitFrom Mean: untrained rows stay out of the mean, as Unsloth does.</summary>
public sealed class MeanInitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-meanadd-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Tensor Load(string folder, string name)
    {
        using var checkpoint = Checkpoint.OpenFolder(folder);
        return checkpoint.Load(name);
    }

    private static Tensor MeanWithout(Tensor weight, Func<long, bool> left)
    {
        var keep = Enumerable.Range(0, (int)weight.shape[0]).Select(i => (long)i).Where(i => !left(i)).ToArray();
        return weight.index_select(0, tensor(keep)).to(ScalarType.Float64).mean(new long[] { 0 }).to(ScalarType.Float32);
    }

    [Fact]
    public void New_rows_are_the_mean_of_the_trained_rows_leaving_out_zero_near_zero_and_duplicated_ones()
    {
        using var scope = NewDisposeScope();
        var model = UntrainedModels.Llama3WithReservedRows(Path.Combine(_dir, "model"), untied: true);
        UntrainedModels.EditTensor(model, "model.embed_tokens.weight", UntrainedModels.MakeUntrainedRows);
        var output = Path.Combine(_dir, "out");

        TokenAdder.Run(new AddTokensRequest { Source = model, Output = output, Tokens = new[] { "<think>" } });

        bool Reserved(long id) => id >= 10002;
        var embedding = Load(model, "model.embed_tokens.weight");
        var expected = MeanWithout(embedding, id => Reserved(id) || id is 5 or 10 or 11 or 12 or 20);
        var added = Load(output, "model.embed_tokens.weight")[10256L];
        Assert.True(added.allclose(expected, rtol: 1e-6, atol: 1e-7), "the embedding's new row is the mean of its trained rows");
        Assert.False(added.allclose(embedding.mean(new long[] { 0 }), rtol: 1e-3, atol: 1e-5), "and not the plain mean");
        var head = Load(model, "lm_head.weight");
        var headAdded = Load(output, "lm_head.weight")[10256L];
        Assert.True(headAdded.allclose(MeanWithout(head, Reserved), rtol: 1e-6, atol: 1e-7), "the head's new row is the mean of its own trained rows");
    }
}
