using System.Collections.Generic;
using System.IO;
using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Core.Preflight;

/// <summary>Checks training.eval_dataset as the dataset is checked (exists, readable, each record usable), findings on eval_dataset.</summary>
internal static class EvalDatasetCheck
{
    public static void Check(TrainingConfig train, string baseDirectory, HashSet<string> invalid, ConfigValidator training)
    {
        if (train.EvalDataset is not { } file || invalid.Contains("training.eval_dataset")) return;
        foreach (var issue in DatasetFileCheck.Check(Path.GetFullPath(file, baseDirectory)))
        {
            var message = issue.Message;
            if (issue.Severity == ConfigSeverity.Error) training.Error("eval_dataset", message);
            else training.Warning("eval_dataset", message);
        }
    }
}
