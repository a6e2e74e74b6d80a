using System.Collections.Generic;
using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Models;

namespace TrainableTokens.Core.Preflight;

/// <summary>
/// The extension point for "the dataset is not empty after tokenisation" (and anything else that needs the model's
/// tokenizer): the preflight checks the dataset file itself (exists, readable, JSON Lines, each record has text,
/// prompt/completion or messages) and then hands it to this check, when one is given, to tokenise. Until a
/// tokenizer-backed implementation is given, that part is reported as skipped.
/// </summary>
public interface IDatasetTokenizationCheck
{
    /// <summary>Problems found tokenising the dataset; none when every record leaves at least one token to train on.</summary>
    IEnumerable<DatasetIssue> Check(DatasetTokenizationContext context);
}

/// <summary>What a tokenisation check gets: the model (folder and config), the dataset file and the training settings.</summary>
public sealed record DatasetTokenizationContext(string ModelFolder, ModelConfig Model, string DatasetPath, TrainingConfig Training);

/// <summary>One problem a dataset check found; the preflight reports it against <c>training.dataset</c>.</summary>
public sealed record DatasetIssue(ConfigSeverity Severity, string Message);
