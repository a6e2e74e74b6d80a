using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Tokenization;
using TrainableTokens.Core.Training.Data;

namespace TrainableTokens.Core.Preflight;

/// <summary>
/// The dataset tokenised with the model folder's tokenizer exactly as training uses it (same reader, same maximum
/// length), once: problems are reported (nothing to train on, malformed records with their line, ids past the model's
/// vocabulary) and the tokenised dataset is what the trainer gets.
/// </summary>
public static class TokenizedDatasetCheck
{
    /// <summary>The problems only (for callers that do not train).</summary>
    public static IReadOnlyList<DatasetIssue> Check(DatasetTokenizationContext context) => Tokenize(context).Issues;

    /// <summary>The problems, and the tokenised dataset (and eval dataset) when there is one to train on.</summary>
    public static DatasetTokenization Tokenize(DatasetTokenizationContext context)
    {
        var issues = new List<DatasetIssue>();
        var evalIssues = new List<DatasetIssue>();
        if (!File.Exists(Path.Combine(context.ModelFolder, "tokenizer.json")))
        {
            issues.Add(new DatasetIssue(ConfigSeverity.Error,
                $"'{context.ModelFolder}' has no tokenizer.json, so the dataset cannot be tokenised; training needs one. Copy the model's tokenizer files into its folder."));
            return new DatasetTokenization(issues, null, evalIssues, null);
        }
        TokenizedDataset? dataset = null, eval = null;
        ModelTokenizer tokenizer;
        try
        {
            tokenizer = ModelTokenizer.Load(context.ModelFolder);
        }
        catch (TrainableTokensException e)
        {
            issues.Add(new DatasetIssue(ConfigSeverity.Error, e.Message));
            return new DatasetTokenization(issues, null, evalIssues, null);
        }
        using (tokenizer)
        {
            if (tokenizer.Size > context.Model.VocabSize)
                issues.Add(new DatasetIssue(ConfigSeverity.Error,
                    $"The tokenizer has {tokenizer.Size} tokens but the model's vocabulary holds {context.Model.VocabSize}: ids past {context.Model.VocabSize - 1} have no embedding row. " +
                    "Resize the model with Add-TokenizerToken (it adds the tokens and grows the embedding together)."));
            var options = new DatasetOptions { MaxLength = context.Training.MaxSeqLength };
            dataset = Build(tokenizer, context.DatasetPath, options, context, issues, truncationWarning: true);
            if (context.EvalDatasetPath is { } evalPath) eval = Build(tokenizer, evalPath, options, context, evalIssues, truncationWarning: false);
        }
        return new DatasetTokenization(issues, issues.Any(i => i.Severity == ConfigSeverity.Error) ? null : dataset,
            evalIssues, evalIssues.Any(i => i.Severity == ConfigSeverity.Error) ? null : eval);
    }

    private static TokenizedDataset? Build(ModelTokenizer tokenizer, string path, DatasetOptions options, DatasetTokenizationContext context,
        List<DatasetIssue> issues, bool truncationWarning)
    {
        try
        {
            var dataset = TokenizedDataset.Build(tokenizer, DatasetReader.ReadFile(path), options, path);
            var s = dataset.Summary;
            if (s.Sequences == 0 || s.LabelledTokens == 0)
                issues.Add(new DatasetIssue(ConfigSeverity.Error,
                    $"'{path}' tokenises to nothing to train on ({s.Records} records, {s.Sequences} sequences, {s.LabelledTokens} tokens with a loss). " +
                    "Add records with text, or completions after the prompts."));
            else if (s.Truncated > 0 && truncationWarning)
                issues.Add(new DatasetIssue(ConfigSeverity.Warning,
                    $"{s.Truncated} of {s.Records} records are longer than max_seq_length ({options.MaxLength} tokens) and will be cut; raise max_seq_length to keep them whole."));
            var tooLarge = dataset.Examples.SelectMany(e => e.InputIds).Where(id => id >= context.Model.VocabSize).Distinct().Take(5).ToList();
            if (tooLarge.Count > 0 && tokenizer.Size <= context.Model.VocabSize)
                issues.Add(new DatasetIssue(ConfigSeverity.Error,
                    $"'{path}' tokenises to ids {string.Join(", ", tooLarge)}, past the model's vocabulary ({context.Model.VocabSize}). Resize the model with Add-TokenizerToken."));
            return dataset;
        }
        catch (TrainableTokensException e)
        {
            issues.Add(new DatasetIssue(ConfigSeverity.Error, e.Message));
            return null;
        }
    }
}
