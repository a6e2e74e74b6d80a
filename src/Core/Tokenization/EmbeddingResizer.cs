using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Runtime;
using TrainableTokens.Core.Untrained;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Tokenization;

/// <summary>
/// Grows a Hugging Face model folder's input embedding (and an LM head with rows of its own) to a new vocabulary size,
/// as transformers' <c>resize_token_embeddings</c>: existing rows are copied bit for bit, new rows initialised by the
/// plan. The weights are rewritten tensor by tensor in the same file layout (one file or the same shards), so memory
/// holds one tensor at a time; config.json gets the new vocab_size. Writes into an existing (temporary) folder.
/// </summary>
public static class EmbeddingResizer
{
    public const string LmHead = "lm_head.weight";

    public static EmbeddingResizeResult Resize(string sourceFolder, string outputFolder, EmbeddingResizePlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        TorchRuntime.EnsureLoaded();
        var config = ModelConfigReader.ReadFolder(sourceFolder);
        var oldVocab = config.VocabSize;
        if (plan.NewVocabSize < oldVocab)
            throw new ArgumentException($"The new vocabulary size {plan.NewVocabSize} is smaller than the model's vocab_size {oldVocab}; shrinking is not supported.", nameof(plan));
        var resized = new List<string>();
        using (var checkpoint = Checkpoint.OpenFolder(sourceFolder))
        {
            // Weights by the names this checkpoint stores them under (a Gemma 3 hub checkpoint's language_model.model.*).
            var embeddingModule = ModelArchitectures.InputEmbeddingPath(config.ModelType) + ".weight";
            var embedding = ModelLoader.StoredName(checkpoint, embeddingModule, config.ModelType) ?? embeddingModule;
            var headModule = ModelArchitectures.LmHeadPath(config.ModelType) + ".weight";
            var lmHead = ModelLoader.StoredName(checkpoint, headModule, config.ModelType) ?? headModule;
            if (!checkpoint.Contains(embedding))
                throw new InvalidModelFolderException($"'{sourceFolder}' has no tensor '{embedding}', the input embedding of a {config.ModelType} model.", sourceFolder);
            var embeddingInfo = checkpoint.Info(embedding);
            if (embeddingInfo.Shape.Length != 2 || embeddingInfo.Shape[0] != oldVocab)
                throw new InvalidModelFolderException(
                    $"'{sourceFolder}': '{embedding}' has shape [{string.Join(", ", embeddingInfo.Shape)}], but config.json's vocab_size is {oldVocab}. Fix vocab_size in config.json.", sourceFolder);
            bool Grows(SafetensorsTensorInfo t) => t.Name == embedding || (t.Name == lmHead && t.Shape.Length == 2 && t.Shape[0] == oldVocab);
            Tensor Grown(string name) => name == lmHead && !config.TieWordEmbeddings
                ? Grow(checkpoint, lmHead, oldVocab, plan, plan.Seed + 1, RandomStd(sourceFolder))
                : Grow(checkpoint, embedding, oldVocab, plan, plan.Seed, RandomStd(sourceFolder));

            long totalBytes = 0;
            foreach (var file in checkpoint.Files)
            {
                using var source = SafetensorsFile.Open(file);
                var tensors = new List<TensorSource>();
                foreach (var t in source.Tensors)
                {
                    var name = t.Name;
                    if (Grows(t))
                    {
                        resized.Add(name);
                        tensors.Add(new TensorSource(name, t.DType, new long[] { plan.NewVocabSize, t.Shape[1] }, () => Grown(name)));
                        totalBytes += (long)plan.NewVocabSize * t.Shape[1] * t.ElementSize;
                    }
                    else
                    {
                        tensors.Add(new TensorSource(name, t.DType, t.Shape, () => source.Load(name)));
                        totalBytes += t.ByteLength;
                    }
                }
                SafetensorsWriter.WriteStreamed(Path.Combine(outputFolder, Path.GetFileName(file)), tensors, source.Metadata.Count > 0 ? source.Metadata : null);
            }
            var index = Path.Combine(sourceFolder, Checkpoint.IndexFileName);
            if (!File.Exists(Path.Combine(sourceFolder, Checkpoint.SingleFileName)) && File.Exists(index))
                CheckpointIndex.Write(Path.Combine(outputFolder, Checkpoint.IndexFileName), totalBytes, CheckpointIndex.Read(index));
        }
        WriteConfig(sourceFolder, outputFolder, plan.NewVocabSize);
        return new EmbeddingResizeResult(oldVocab, plan.NewVocabSize, resized);
    }

    /// <summary>The rows of <paramref name="name"/>, old ones unchanged, new ones as planned; computed in float32, stored in the tensor's dtype.</summary>
    private static Tensor Grow(Checkpoint checkpoint, string name, int oldVocab, EmbeddingResizePlan plan, int seed, double std)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var old = checkpoint.Load(name);
        var dim = old.shape[1];
        var dtype = old.dtype;
        var mean = plan.Init == NewRowInit.Random ? zeros(dim, device: CPU) : MeanOfTrainedRows(old);
        using var generator = new Generator((ulong)seed, CPU);
        var count = plan.NewVocabSize - oldVocab;
        var added = plan.Init == NewRowInit.Random
            ? randn(new long[] { count, dim }, ScalarType.Float32, CPU, generator: generator) * std
            : mean.unsqueeze(0).expand(count, dim).clone();
        var result = cat(new[] { old, added.to(dtype) }, 0);
        foreach (var row in plan.ReinitialisedRows)
        {
            var value = plan.Init == NewRowInit.Random ? randn(new long[] { dim }, ScalarType.Float32, CPU, generator: generator) * std : mean;
            result[row] = value.to(dtype);
        }
        foreach (var (row, sources) in plan.RowSources)
        {
            if (sources.Length == 0) continue;
            foreach (var s in sources)
                if (s < 0 || s >= oldVocab) throw new TokenIdOutOfRangeException(s, oldVocab);
            var value = old.index_select(0, tensor(sources.Select(s => (long)s).ToArray(), device: old.device)).to(ScalarType.Float32).mean(new long[] { 0 });
            result[row] = value.to(dtype);
        }
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The mean of the rows that are not untrained (zero, near zero or duplicated, see <see cref="RowScan"/>), as Unsloth
    /// does: Llama 3's 250 identical reserved rows, or rows left zero by an earlier resize, would pull a plain mean
    /// towards themselves. With no untrained row it is exactly transformers' plain mean.
    /// </summary>
    private static Tensor MeanOfTrainedRows(Tensor old)
    {
        var scan = RowScan.Scan(old);
        // Float32 arithmetic without a float32 copy of the whole matrix: memory stays at the old and the grown tensor.
        return scan.Rows.Count == 0
            ? old.mean(new long[] { 0 }, keepdim: false, type: ScalarType.Float32)
            : scan.MeanOfTrained(RowScan.Reader(old));
    }

    private static double RandomStd(string folder)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, ModelConfigReader.FileName)));
        return doc.RootElement.TryGetProperty("initializer_range", out var r) && r.ValueKind == JsonValueKind.Number ? r.GetDouble() : 0.02;
    }

    /// <summary>config.json with the new vocab_size; every other field and the field order stay as they were.</summary>
    private static void WriteConfig(string sourceFolder, string outputFolder, int vocabSize)
    {
        var path = Path.Combine(sourceFolder, ModelConfigReader.FileName);
        var root = JsonNode.Parse(File.ReadAllBytes(path), documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip })!.AsObject();
        // A Gemma3ForConditionalGeneration folder keeps the text model's vocabulary in text_config.
        if (root["text_config"] is JsonObject text) text["vocab_size"] = vocabSize;
        else root["vocab_size"] = vocabSize;
        var options = new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        AtomicFile.WriteAllBytes(Path.Combine(outputFolder, ModelConfigReader.FileName), Encoding.UTF8.GetBytes(root.ToJsonString(options) + "\n"));
    }
}
