using TrainableTokens.Core.Configuration;
using TrainableTokens.Core.Models;

namespace TrainableTokens.Core.Preflight;

/// <summary>What the dataset's tokenisation check gets: the model (folder and config), the dataset file and the training settings.</summary>
public sealed record DatasetTokenizationContext(string ModelFolder, ModelConfig Model, string DatasetPath, TrainingConfig Training);

/// <summary>One problem a dataset check found; the preflight reports it against <c>training.dataset</c>.</summary>
public sealed record DatasetIssue(ConfigSeverity Severity, string Message);
