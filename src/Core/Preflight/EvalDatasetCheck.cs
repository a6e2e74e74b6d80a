using System.Collections.Generic;
using System.IO;
using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Core.Preflight;

/// <summary>Checks training.eval_dataset as the dataset is checked (exists, readable, each record usable), findings on eval_dataset.</summary>
internal static class EvalDatasetCheck
{
    /// <summary>False when eval_dataset is set and unusable (then it is not tokenised).</summary>
    public static bool Check(TrainingConfig train, string baseDirectory, HashSet<string> invalid, ConfigValidator training)
    {
        if (train.EvalDataset is not { } file || invalid.Contains("training.eval_dataset")) return true;
        var ok = true;
        foreach (var issue in DatasetFileCheck.Check(Path.GetFullPath(file, baseDirectory)))
        {
            var message = issue.Message;
            if (issue.Severity == ConfigSeverity.Error)
            {
                training.Error("eval_dataset", message);
                ok = false;
            }
            else training.Warning("eval_dataset", message);
        }
        return ok;
    }
}
