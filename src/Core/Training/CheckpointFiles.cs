using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Core.Training;

/// <summary>
/// Finds and checks the checkpoint a run resumes from before anything is loaded or written: trainer_state.json,
/// optimizer.safetensors, rng_state.safetensors and the adapter must all be readable and complete. A damaged newest
/// checkpoint is not skipped silently (the run would quietly redo steps): the error names it and the newest good one.
/// </summary>
internal static class CheckpointFiles
{
    /// <summary>The checkpoint folder and its state, or null when <paramref name="setting"/> is null (no resume).</summary>
    public static (string Folder, TrainerState State)? Resolve(string? setting, OutputFolder output, string baseDirectory) =>
        Resolve(setting, output.ExistingCheckpoints(), baseDirectory);

    /// <summary>As above, for an output_dir nobody has locked yet (the preflight's look).</summary>
    public static (string Folder, TrainerState State)? Resolve(string? setting, string outputDir, string baseDirectory) =>
        Resolve(setting, OutputFolder.CompleteCheckpoints(outputDir), baseDirectory);

    private static (string Folder, TrainerState State)? Resolve(string? setting, IReadOnlyList<(int Step, string Path)> all, string baseDirectory)
    {
        if (setting is null) return null;
        if (!string.Equals(setting, "latest", StringComparison.OrdinalIgnoreCase))
        {
            var folder = Path.GetFullPath(setting, baseDirectory);
            if (!File.Exists(Path.Combine(folder, TrainerState.FileName)))
                throw new TrainingFailedException("NoCheckpoint", ErrorKind.ObjectNotFound,
                    $"resume_from_checkpoint '{folder}' is not a checkpoint folder (it has no {TrainerState.FileName}). Give a checkpoint-N folder this module wrote, or 'latest'.",
                    "training.resume_from_checkpoint");
            return (folder, Validate(folder));
        }
        if (all.Count == 0)
            throw new TrainingFailedException("NoCheckpoint", ErrorKind.ObjectNotFound,
                "resume_from_checkpoint is 'latest', but output_dir has no complete checkpoint-N folder. Remove resume_from_checkpoint to start from the beginning.",
                "training.resume_from_checkpoint");
        var newest = all[^1].Path;
        try
        {
            return (newest, Validate(newest));
        }
        catch (TrainableTokensException e)
        {
            var good = all.Take(all.Count - 1).Reverse().Select(c => c.Path).FirstOrDefault(IsValid);
            var fix = good is null
                ? "No earlier checkpoint is usable either: remove resume_from_checkpoint to start afresh (with overwrite_output_dir)."
                : $"The newest good checkpoint is '{good}': set resume_from_checkpoint to it, or delete '{Path.GetFileName(newest)}' and resume from latest again.";
            throw new TrainingFailedException("InvalidCheckpoint", ErrorKind.InvalidData,
                $"The newest checkpoint '{newest}' cannot be resumed: {e.Message} {fix}", e.Target ?? newest);
        }
    }

    /// <summary>Reads the state and checks every file of <paramref name="folder"/>; errors name the damaged file.</summary>
    public static TrainerState Validate(string folder)
    {
        var state = TrainerState.Read(folder);
        OptimizerCheckpoint.Validate(folder);
        try
        {
            // The adapter as its tuner reads it: a LoRA run's checkpoint holds a LoRA adapter.
            if (state.PeftType == Tuners.Lora.LoraConfig.PeftType) Tuners.Lora.LoraAdapterFolder.ReadConfig(folder);
            else AdapterFolder.ReadConfig(folder);
            using (AdapterFolder.OpenWeights(folder)) { }
            var rng = Path.Combine(folder, RngState.FileName);
            if (File.Exists(rng)) using (SafetensorsFile.Open(rng)) { }
        }
        catch (TrainableTokensException e) when (e is not TrainingFailedException)
        {
            throw new TrainingFailedException("InvalidCheckpoint", ErrorKind.InvalidData,
                $"The checkpoint '{folder}' is damaged: {e.Message}", e.Target ?? folder);
        }
        return state;
    }

    private static bool IsValid(string folder)
    {
        try
        {
            Validate(folder);
            return true;
        }
        catch (TrainableTokensException)
        {
            return false;
        }
    }
}
