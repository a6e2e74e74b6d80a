using System;
using System.Collections.Generic;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Preflight;
using TrainableTokens.Core.Tuners.TrainableTokens;
using TrainableTokens.Core.Untrained;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Jobs;

/// <summary>
/// The rows a Trainable Tokens run starts from when some of its tokens are untrained in the base model: the engine
/// starts those from the mean of the trained rows (<see cref="UntrainedRowInit"/>), PEFT from a copy of the untrained
/// row. The job is given the engine's start as a safetensors file keyed by PEFT's adapter names, read from the model
/// files here (rows and the mean, in the run's dtype, as the loaded model holds them), without loading the model.
/// </summary>
internal static class JobInitialRows
{
    /// <summary>True when the engine would start any trained row from the mean (the preflight found it untrained).</summary>
    public static bool Needed(PreparedRun run) =>
        run.Adapter is { InitWeights: true } adapter && run.UntrainedTokenIds is { } untrained && adapter.TokenIndices.Any(untrained.Contains);

    /// <summary>The starting rows of every targeted module (the input embedding; an untied, targeted LM head), float32,
    /// keyed by PEFT's tensor name; null when no row of any module is untrained.</summary>
    public static IReadOnlyList<KeyValuePair<string, Tensor>>? Compute(PreparedRun run)
    {
        var adapter = run.Adapter ?? throw new InvalidOperationException("Only a Trainable Tokens run has initial rows.");
        var dtype = ModelDtype.Parse(run.Training.Dtype);
        var type = run.Model.ModelType;
        using var checkpoint = Checkpoint.OpenFolder(run.ModelFolder);
        var embedding = ModelArchitectures.InputEmbeddingPath(type);
        var head = ModelArchitectures.LmHeadPath(type);
        var modules = TargetModuleMatcher.ModulePaths(checkpoint.Names.Select(w => ModelArchitectures.ModuleName(type, w)), new[] { head });
        var targets = TargetModuleMatcher.Select(run.Config.TrainableTokens!.TargetModules, modules, embedding)
            .Where(m => m == embedding || (m == head && !run.Model.TieWordEmbeddings)).Order(StringComparer.Ordinal).ToList();
        var ids = adapter.TokenIndices.ToArray();
        var rows = new List<KeyValuePair<string, Tensor>>();
        var any = false;
        foreach (var module in targets)
        {
            var name = ModelLoader.StoredName(checkpoint, module + ".weight", type) ?? module + ".weight";
            if (!checkpoint.Contains(name)) continue;
            var info = checkpoint.Info(name);
            RowReader read = (first, count) => checkpoint.LoadRows(name, first, count).to(dtype);
            var scan = RowScan.Scan(info.Shape[0], info.Shape[1], read);
            using var scope = NewDisposeScope();
            var values = cat(ids.Select(id => read(id, 1)).ToArray(), 0).to(ScalarType.Float32);
            var untrained = Enumerable.Range(0, ids.Length).Where(i => scan.IsUntrained(ids[i])).ToArray();
            if (untrained.Length > 0)
            {
                any = true;
                var mean = scan.MeanOfTrained(read).to(ScalarType.Float32);
                values.index_copy_(0, tensor(untrained.Select(i => (long)i).ToArray(), ScalarType.Int64, CPU), mean.unsqueeze(0).expand(untrained.Length, -1));
            }
            rows.Add(new(AdapterFolder.KeyFor(module), values.contiguous().MoveToOuterDisposeScope()));
        }
        if (any) return rows;
        foreach (var (_, t) in rows) t.Dispose();
        return null;
    }
}
