using System.Collections.Generic;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Training.Data;

namespace TrainableTokens.Core.Preflight;

/// <summary>What the dataset's tokenisation check gets: the model (folder and config), the dataset file and the training settings.</summary>
public sealed record DatasetTokenizationContext(string ModelFolder, ModelConfig Model, string DatasetPath, TrainingConfig Training)
{
    /// <summary>training.eval_dataset, tokenised the same way when given.</summary>
    public string? EvalDatasetPath { get; init; }
}

/// <summary>The dataset (and eval dataset) tokenised as training uses them, with the problems found in each; a dataset is
/// null when its problems include an error.</summary>
public sealed record DatasetTokenization(IReadOnlyList<DatasetIssue> Issues, TokenizedDataset? Dataset, IReadOnlyList<DatasetIssue> EvalIssues, TokenizedDataset? EvalDataset);

/// <summary>One problem a dataset check found; the preflight reports it against <c>training.dataset</c>.</summary>
public sealed record DatasetIssue(ConfigSeverity Severity, string Message);
