using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Tokenization;
using TrainableTokens.Core.Training.Data;

namespace TrainableTokens.Core.Preflight;

/// <summary>
/// The tokenizer-backed dataset check: tokenises the dataset with the model folder's tokenizer exactly as training
/// will (same reader, same maximum length) and reports a dataset that leaves nothing to train on, malformed records
/// with their line, and a tokenizer whose ids the model's vocabulary cannot hold.
/// </summary>
public sealed class TokenizedDatasetCheck : IDatasetTokenizationCheck
{
    public IEnumerable<DatasetIssue> Check(DatasetTokenizationContext context)
    {
        if (!File.Exists(Path.Combine(context.ModelFolder, "tokenizer.json")))
        {
            yield return new DatasetIssue(ConfigSeverity.Warning,
                $"'{context.ModelFolder}' has no tokenizer.json, so the dataset could not be tokenised here; training needs one. Copy the tokenizer files into the model folder.");
            yield break;
        }
        var issues = new List<DatasetIssue>();
        try
        {
            using var tokenizer = ModelTokenizer.Load(context.ModelFolder);
            if (tokenizer.Size > context.Model.VocabSize)
                issues.Add(new DatasetIssue(ConfigSeverity.Error,
                    $"The tokenizer has {tokenizer.Size} tokens but the model's vocabulary holds {context.Model.VocabSize}: ids past {context.Model.VocabSize - 1} have no embedding row. " +
                    "Resize the model with Add-TokenizerToken (it adds the tokens and grows the embedding together)."));
            var options = new DatasetOptions { MaxLength = context.Training.MaxSeqLength };
            var dataset = TokenizedDataset.Build(tokenizer, DatasetReader.ReadFile(context.DatasetPath), options, context.DatasetPath);
            var s = dataset.Summary;
            if (s.Sequences == 0 || s.LabelledTokens == 0)
                issues.Add(new DatasetIssue(ConfigSeverity.Error,
                    $"'{context.DatasetPath}' tokenises to nothing to train on ({s.Records} records, {s.Sequences} sequences, {s.LabelledTokens} tokens with a loss). " +
                    "Add records with text, or completions after the prompts."));
            else if (s.Truncated > 0)
                issues.Add(new DatasetIssue(ConfigSeverity.Warning,
                    $"{s.Truncated} of {s.Records} records are longer than max_seq_length ({options.MaxLength} tokens) and will be cut; raise max_seq_length to keep them whole."));
            var tooLarge = dataset.Examples.SelectMany(e => e.InputIds).Where(id => id >= context.Model.VocabSize).Distinct().Take(5).ToList();
            if (tooLarge.Count > 0 && tokenizer.Size <= context.Model.VocabSize)
                issues.Add(new DatasetIssue(ConfigSeverity.Error,
                    $"The dataset tokenises to ids {string.Join(", ", tooLarge)}, past the model's vocabulary ({context.Model.VocabSize}). Resize the model with Add-TokenizerToken."));
        }
        catch (TrainableTokensException e)
        {
            issues.Add(new DatasetIssue(ConfigSeverity.Error, e.Message));
        }
        foreach (var issue in issues) yield return issue;
    }
}
