using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace TrainableTokens.Core.Preflight;

/// <summary>Checks that the output folder can be written and that a run would not silently replace what is in it.</summary>
public static class OutputFolderCheck
{
    /// <summary>Problems with <paramref name="folder"/>: each entry is (the run-file key it concerns, message).</summary>
    public static IReadOnlyList<(string Key, string Message)> Check(string folder, bool overwrite, bool resuming)
    {
        var problems = new List<(string, string)>();
        if (File.Exists(folder))
        {
            problems.Add(("output_dir", $"output_dir '{folder}' is a file. Give a folder (it is created when missing)."));
            return problems;
        }
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any() && !overwrite && !resuming)
        {
            // Resuming is offered only where there is something to resume: a folder with just a final adapter has not.
            var resume = Training.OutputFolder.CompleteCheckpoints(folder).Count > 0
                ? ", or set resume_from_checkpoint: latest (-Resume latest) to continue the run in it" : "";
            problems.Add(("output_dir", $"output_dir '{folder}' already exists and is not empty, and nothing is overwritten silently. " +
                $"Choose another folder, or set overwrite_output_dir: true (-Force) to replace what a run wrote there{resume}."));
        }
        if (WriteProblem(folder) is { } problem) problems.Add(("output_dir", problem));
        return problems;
    }

    /// <summary>Tries to create (and removes) a file in the folder, or in its nearest existing ancestor when it is missing.</summary>
    private static string? WriteProblem(string folder)
    {
        var existing = new DirectoryInfo(folder);
        while (existing is not null && !existing.Exists) existing = existing.Parent;
        if (existing is null) return $"output_dir '{folder}' has no existing parent folder to create it in.";
        var probe = Path.Combine(existing.FullName, $".trainabletokens-write-check-{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var where = existing.FullName == Path.GetFullPath(folder) ? "" : $" (it would be created in '{existing.FullName}')";
            return $"output_dir '{folder}' cannot be written{where}: {e.Message} Choose a folder you can write to.";
        }
    }
}
