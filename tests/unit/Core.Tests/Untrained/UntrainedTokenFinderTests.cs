using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Untrained;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tests.Untrained;

public sealed class UntrainedTokenFinderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tt-untrained-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Tiny(string name, bool untied = true, long? maxShardBytes = null, string dtype = "float32")
    {
        var folder = Path.Combine(_dir, name);
        TinyModelFactory.Create(folder, new TinyModelSpec
        {
            ModelType = "llama", VocabSize = 64, HiddenSize = 16, IntermediateSize = 32, NumLayers = 1, NumHeads = 2, NumKeyValueHeads = 1,
            TieWordEmbeddings = !untied, MaxShardBytes = maxShardBytes, Dtype = dtype, Seed = 3,
        });
        return folder;
    }

    [Fact]
    public void Zero_near_zero_and_duplicated_rows_of_the_embedding_and_an_untied_head_are_found_with_their_reason()
    {
        var folder = Tiny("untied");
        UntrainedModels.EditTensor(folder, "model.embed_tokens.weight", w =>
        {
            UntrainedModels.MakeUntrainedRows(w);
            w[30L].copy_(w[2L]); // a pair of identical rows: a deliberate copy, not untrained
        });
        UntrainedModels.EditTensor(folder, "lm_head.weight", w => w[40L].zero_());

        var report = UntrainedTokenFinder.Find(folder);

        Assert.False(report.TiedHead);
        Assert.Equal(new long[] { 5, 10, 11, 12, 20, 40 }, report.Tokens.Select(t => t.Id));
        var byId = report.Tokens.ToDictionary(t => t.Id);
        Assert.Equal((UntrainedReason?)UntrainedReason.Zero, byId[5].EmbeddingReason);
        Assert.Equal(0.0, byId[5].EmbeddingNorm);
        Assert.Null(byId[5].HeadReason);
        Assert.Equal("embedding duplicate (3 identical rows)", byId[11].Reason);
        Assert.Equal((UntrainedReason?)UntrainedReason.NearZero, byId[20].EmbeddingReason);
        Assert.True(byId[20].EmbeddingNorm > 0 && byId[20].EmbeddingNorm < report.EmbeddingMedianNorm * RowScan.NearZeroFraction);
        Assert.Equal("head zero", byId[40].Reason);
        Assert.Equal(0.0, byId[40].HeadNorm);
        Assert.All(report.Tokens, t => Assert.NotNull(t.HeadNorm));
        Assert.All(report.Tokens, t => Assert.Null(t.Token)); // no tokenizer.json in the folder
    }

    [Fact]
    public void A_sharded_checkpoint_scanned_in_small_chunks_gives_the_same_rows_and_reads_no_more_than_a_chunk_at_once()
    {
        var folder = Tiny("sharded", maxShardBytes: 8_000);
        UntrainedModels.EditTensor(folder, "model.embed_tokens.weight", UntrainedModels.MakeUntrainedRows);
        using var checkpoint = Checkpoint.OpenFolder(folder);
        Assert.True(checkpoint.Files.Count > 1);
        const string name = "model.embed_tokens.weight";
        var largest = 0L;
        var chunked = RowScan.Scan(64, 16, (first, count) =>
        {
            largest = Math.Max(largest, count);
            return checkpoint.LoadRows(name, first, count);
        }, perChunk: 7);
        var whole = RowScan.Scan(checkpoint, name);

        Assert.Equal(7, largest);
        Assert.Equal(whole.Rows, chunked.Rows);
        Assert.Equal(new long[] { 5, 10, 11, 12, 20 }, chunked.Rows.Select(r => r.Row));
        Assert.Equal(whole.MedianNorm, chunked.MedianNorm);
        using var all = checkpoint.Load(name);
        // Norms are float32 (the scan keeps no float64 copy of a chunk): 6 significant digits.
        for (long i = 0; i < 64; i++)
            Assert.Equal(all[i].to(ScalarType.Float64).norm().item<double>(), chunked.Norm(i), 5);
    }

    [Fact]
    public void Llama_3_style_reserved_tokens_are_found_with_their_text_and_a_tied_head_has_no_head_norm()
    {
        var folder = UntrainedModels.Llama3WithReservedRows(Path.Combine(_dir, "llama3"));

        var report = UntrainedTokenFinder.Find(folder);

        Assert.True(report.TiedHead);
        Assert.Null(report.HeadMedianNorm);
        Assert.Equal(Enumerable.Range(10002, 254).Select(i => (long)i), report.Tokens.Select(t => t.Id));
        Assert.Equal("<|reserved_special_token_0|>", report.Tokens[0].Token);
        Assert.Equal("embedding duplicate (254 identical rows)", report.Tokens[0].Reason);
        Assert.All(report.Tokens, t => Assert.Null(t.HeadNorm));
    }

    [Fact]
    public void A_model_without_untrained_rows_gives_none()
    {
        Assert.Empty(UntrainedTokenFinder.Find(UntrainedModels.Llama3).Tokens);
    }

    [Fact]
    public void A_missing_folder_is_an_invalid_model_folder_error_naming_it()
    {
        var missing = Path.Combine(_dir, "nope");
        var error = Assert.Throws<InvalidModelFolderException>(() => UntrainedTokenFinder.Find(missing));
        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public void LoadRows_reads_exactly_the_rows_asked_for_and_refuses_rows_outside_the_tensor()
    {
        var folder = Tiny("bf16", dtype: "bfloat16");
        using var checkpoint = Checkpoint.OpenFolder(folder);
        using var all = checkpoint.Load("model.embed_tokens.weight");
        using var rows = checkpoint.LoadRows("model.embed_tokens.weight", 3, 4);

        Assert.Equal(ScalarType.BFloat16, rows.dtype);
        Assert.Equal(new long[] { 4, 16 }, rows.shape);
        using var expected = all.narrow(0, 3, 4);
        Assert.True(rows.eq(expected).all().item<bool>());
        Assert.Throws<ArgumentOutOfRangeException>(() => checkpoint.LoadRows("model.embed_tokens.weight", 62, 3));
    }
}
