using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Runtime;
using TrainableTokens.Core.Tokenization;

namespace TrainableTokens.Core.Untrained;

/// <summary>
/// Lists the untrained rows of a Hugging Face model folder: rows of the input embedding, and of the LM head when the
/// model has one of its own, that are zero, near zero or duplicated (<see cref="RowScan"/>). The weights are read in
/// chunks of rows from the safetensors files (one file or shards), so memory stays small whatever the vocabulary;
/// token strings come from the folder's tokenizer.json when it has one.
/// </summary>
public static class UntrainedTokenFinder
{
    public static UntrainedTokenReport Find(string modelFolder)
    {
        var folder = Path.GetFullPath(modelFolder);
        if (!Directory.Exists(folder))
            throw new InvalidModelFolderException($"The model folder '{folder}' does not exist. Check the path.", folder);
        var config = ModelConfigReader.ReadFolder(folder);
        TorchRuntime.EnsureLoaded();
        UntrainedRowSet embedding;
        UntrainedRowSet? head;
        using (var checkpoint = Checkpoint.OpenFolder(folder))
            (embedding, head) = Scan(folder, config, checkpoint);
        using var tokenizer = File.Exists(Path.Combine(folder, TokenizerJson.FileName)) ? ModelTokenizer.Load(folder) : null;
        return Report(folder, config, embedding, head, id => tokenizer?.IdToToken((int)id));
    }

    /// <summary>The scans of the input embedding and, when the model has its own, the LM head.</summary>
    internal static (UntrainedRowSet Embedding, UntrainedRowSet? Head) Scan(string folder, ModelConfig config, Checkpoint checkpoint)
    {
        var embeddingModule = ModelArchitectures.InputEmbeddingPath(config.ModelType) + ".weight";
        var embeddingName = ModelLoader.StoredName(checkpoint, embeddingModule, config.ModelType) ?? embeddingModule;
        if (!checkpoint.Contains(embeddingName))
            throw new InvalidModelFolderException($"'{folder}' has no tensor '{embeddingName}', the input embedding of a {config.ModelType} model.", folder);
        var embedding = RowScan.Scan(checkpoint, embeddingName);
        var headModule = ModelArchitectures.LmHeadPath(config.ModelType) + ".weight";
        var headName = ModelLoader.StoredName(checkpoint, headModule, config.ModelType) ?? headModule;
        var head = !config.TieWordEmbeddings && checkpoint.Contains(headName) ? RowScan.Scan(checkpoint, headName) : null;
        return (embedding, head);
    }

    internal static UntrainedTokenReport Report(string folder, ModelConfig config, UntrainedRowSet embedding, UntrainedRowSet? head, System.Func<long, string?> token)
    {
        var ids = embedding.Rows.Select(r => r.Row).Concat(head?.Rows.Select(r => r.Row).Where(r => r < embedding.RowCount) ?? Enumerable.Empty<long>()).Distinct().Order();
        var tokens = new List<UntrainedToken>();
        foreach (var id in ids)
        {
            var e = embedding.Find(id);
            var h = head is not null && id < head.RowCount ? head.Find(id) : null;
            var reasons = new List<string>();
            if (e is not null) reasons.Add("embedding " + Describe(e));
            if (h is not null) reasons.Add("head " + Describe(h));
            tokens.Add(new UntrainedToken(id, token(id), embedding.Norm(id), head is not null && id < head.RowCount ? head.Norm(id) : null, string.Join("; ", reasons))
            {
                EmbeddingReason = e?.Reason,
                HeadReason = h?.Reason,
            });
        }
        return new UntrainedTokenReport(folder, embedding.RowCount, config.TieWordEmbeddings, embedding.MedianNorm, head?.MedianNorm, tokens);
    }

    private static string Describe(UntrainedRow row) => row.Reason switch
    {
        UntrainedReason.Zero => "zero",
        UntrainedReason.Duplicate => $"duplicate ({row.GroupSize} identical rows)",
        _ => "near zero",
    };
}
