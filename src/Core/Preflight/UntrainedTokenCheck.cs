using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tokenization;
using TrainableTokens.Core.Training.Data;
using TrainableTokens.Core.Untrained;

namespace TrainableTokens.Core.Preflight;

/// <summary>What the untrained-token warnings look at: the run's tokens and targets, the model's untrained and new tokens, and the dataset's token counts.</summary>
public sealed record UntrainedTokenCheckInput
{
    public required IReadOnlyList<long> TokenIndices { get; init; }
    /// <summary>The LM head is the embedding (tie_word_embeddings), so training the embedding trains the head.</summary>
    public required bool TiedHead { get; init; }
    /// <summary>target_modules selects the untied LM head as well.</summary>
    public required bool HeadTrained { get; init; }
    /// <summary>The model's untrained tokens (<see cref="UntrainedTokenFinder"/>).</summary>
    public required IReadOnlyList<UntrainedToken> Untrained { get; init; }
    /// <summary>Tokens added to the tokenizer beyond its base vocabulary (id to text): rows a resize made, not learnt ones.</summary>
    public IReadOnlyDictionary<long, string> NewTokens { get; init; } = new Dictionary<long, string>();
    /// <summary>How often each token id occurs in the tokenised dataset's inputs; null when the dataset was not tokenised.</summary>
    public IReadOnlyDictionary<long, long>? DatasetCounts { get; init; }
    /// <summary>A token's text, for messages; null when unknown.</summary>
    public Func<long, string?> TokenText { get; init; } = _ => null;
}

/// <summary>One warning, against a key of the trainable_tokens section.</summary>
public sealed record UntrainedTokenWarning(string Key, string Message);

/// <summary>
/// Warnings about untrained and new tokens, before training: the dataset uses tokens whose rows are untrained and that
/// the run leaves as they are; or a model with its own (untied) LM head is trained on new or untrained tokens without
/// that head, so it learns to read them but can never predict them. A token is <b>new</b> when the tokenizer lists it
/// among added_tokens and its base vocabulary (model.vocab) does not hold it; <b>untrained</b> when its embedding or
/// head row is zero, near zero or duplicated (<see cref="RowScan"/>).
/// </summary>
public static class UntrainedTokenCheck
{
    private const int Shown = 5;

    public static IReadOnlyList<UntrainedTokenWarning> Check(UntrainedTokenCheckInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var warnings = new List<UntrainedTokenWarning>();
        var trained = input.TokenIndices.ToHashSet();
        var untrained = input.Untrained.ToDictionary(t => t.Id);
        if (input.DatasetCounts is { } counts)
        {
            var used = untrained.Keys.Where(id => !trained.Contains(id) && counts.GetValueOrDefault(id) > 0)
                .OrderByDescending(id => counts[id]).ThenBy(id => id).ToList();
            if (used.Count > 0)
                warnings.Add(new UntrainedTokenWarning("token_indices",
                    $"The dataset uses {used.Count} untrained token(s) that this run does not train: " +
                    List(used, id => $"{Name(input, id)}, {counts[id]} time{(counts[id] == 1 ? "" : "s")}") +
                    ". Their rows are zero, near zero or copies of each other (Find-UntrainedToken lists them), so the model reads noise there. " +
                    "Add their ids to token_indices, or leave them out of the data."));
        }
        if (!input.TiedHead && !input.HeadTrained)
        {
            var affected = input.TokenIndices.Where(id => untrained.ContainsKey(id) || input.NewTokens.ContainsKey(id)).Distinct().Order().ToList();
            if (affected.Count > 0)
                warnings.Add(new UntrainedTokenWarning("target_modules",
                    "This model's LM head is not tied to its embedding and target_modules does not include lm_head: the model will read these tokens but never predict them: " +
                    List(affected, id => Name(input, id)) +
                    " (new or untrained). Train the head's rows too: target_modules: [embed_tokens, lm_head]."));
        }
        return warnings;
    }

    /// <summary>
    /// The preflight's part: only when the preflight tokenises the dataset (Test-TrainableTokensConfig and
    /// Start-TokenTraining), because it reads the embedding (and head) weights, not only the headers. Returns the
    /// untrained token ids it found (so training need not scan again), or null when it did not scan.
    /// </summary>
    internal static IReadOnlySet<long>? Report(PreflightRequest request, RunConfig config, (string Folder, ModelConfig Config)? model, TokenizedDataset? dataset,
        HashSet<string> invalid, ConfigValidator tokens, ConfigValidator training)
    {
        if (!request.TokenizeDataset || model is not { } m) return null;
        var indices = config.TrainableTokens?.TokenIndices;
        if (indices is null || indices.Count == 0 || indices.Any(i => i < 0 || i >= m.Config.VocabSize)) return null;
        if (invalid.Any(f => f.StartsWith("trainable_tokens.", StringComparison.Ordinal))) return null;
        try
        {
            using var checkpoint = Checkpoint.OpenFolder(m.Folder);
            var embedding = ModelArchitectures.InputEmbeddingPath(m.Config.ModelType);
            var head = ModelArchitectures.LmHeadPath(m.Config.ModelType);
            bool headTrained;
            try
            {
                var modules = TargetModuleMatcher.ModulePaths(checkpoint.Names.Select(w => ModelArchitectures.ModuleName(m.Config.ModelType, w)), new[] { head });
                headTrained = TargetModuleMatcher.Select(config.TrainableTokens!.TargetModules, modules, embedding).Contains(head);
            }
            catch (ArgumentException)
            {
                return null; // an invalid regex, already reported
            }
            using var tokenizer = LoadTokenizer(m.Folder);
            var counts = dataset is null ? null : DatasetCounts(dataset);
            if (counts is null && (m.Config.TieWordEmbeddings || headTrained)) return null;
            var (embeddingRows, headRows) = UntrainedTokenFinder.Scan(m.Folder, m.Config, checkpoint);
            var report = UntrainedTokenFinder.Report(m.Folder, m.Config, embeddingRows, headRows, id => tokenizer?.IdToToken((int)id));
            var input = new UntrainedTokenCheckInput
            {
                TokenIndices = indices.Select(i => (long)i).ToList(),
                TiedHead = m.Config.TieWordEmbeddings,
                HeadTrained = headTrained,
                Untrained = report.Tokens,
                NewTokens = tokenizer?.BeyondVocabulary.ToDictionary(t => (long)t.Id, t => t.Content) ?? new Dictionary<long, string>(),
                DatasetCounts = counts,
                TokenText = id => tokenizer?.IdToToken((int)id),
            };
            foreach (var w in Check(input)) tokens.Warning(w.Key, w.Message);
            return report.Tokens.Select(t => t.Id).ToHashSet();
        }
        catch (TrainableTokensException e)
        {
            // The headers were fine (the model check passed), but the rows cannot be read: training could not read them either.
            training.Error("base_model", e.Message);
            return null;
        }
    }

    /// <summary>The folder's tokenizer, or null when it has none or it cannot be loaded (the dataset check reports that).</summary>
    private static ModelTokenizer? LoadTokenizer(string folder)
    {
        if (!File.Exists(Path.Combine(folder, TokenizerJson.FileName))) return null;
        try
        {
            return ModelTokenizer.Load(folder);
        }
        catch (TrainableTokensException)
        {
            return null;
        }
    }

    /// <summary>Token id counts over the dataset's inputs, as the preflight tokenised it for training.</summary>
    private static Dictionary<long, long> DatasetCounts(TokenizedDataset dataset)
    {
        var counts = new Dictionary<long, long>();
        foreach (var example in dataset.Examples)
            foreach (var id in example.InputIds)
                counts[id] = counts.GetValueOrDefault(id) + 1;
        return counts;
    }

    private static string Name(UntrainedTokenCheckInput input, long id) =>
        (input.Untrained.FirstOrDefault(t => t.Id == id)?.Token ?? input.NewTokens.GetValueOrDefault(id) ?? input.TokenText(id)) is { } text
            ? $"'{text}' (id {id})"
            : $"id {id}";

    private static string List(IReadOnlyList<long> ids, Func<long, string> describe) =>
        string.Join(", ", ids.Take(Shown).Select(describe)) + (ids.Count > Shown ? $" and {ids.Count - Shown} more" : "");
}
