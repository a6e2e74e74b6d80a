namespace TrainableTokens.Core.Training.Data;

/// <summary>The kinds of training record (see <see cref="DatasetRecord"/>).</summary>
public enum DatasetFormat
{
    Text,
    PromptCompletion,
    Messages,
}
