using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Core.Training;

/// <summary>
/// A run's output_dir: checkpoint-N folders (each written atomically, the oldest removed beyond the limit) and the
/// final adapter's two files. The run holds a lock on it from start to end, so two runs never write one folder.
/// <para>Nothing the user had is lost: with overwrite, a previous run's checkpoints and adapter are moved aside into a
/// hidden <c>.previous.*</c> folder at the first write and deleted only once the new adapter is complete; a run that
/// fails, is cancelled or is killed gets them back (the kill case at the next run). Leftovers of a killed run
/// (partial checkpoints, half-deleted rotations, a weights file without its config) are removed at the next run.</para>
/// </summary>
internal sealed partial class OutputFolder : IDisposable
{
    public const string Writer = "Start-TokenTraining";
    private const string PreviousPrefix = ".previous.";
    private const string MovedSentinel = ".moved";

    private readonly string _path;
    private readonly bool _overwrite;
    private readonly int? _limit;
    private readonly OutputLock _lock;
    private readonly List<(int Step, string Path)> _checkpoints = new();
    private string? _previous;
    private bool _previousComplete;
    private bool _prepared;
    private bool _created;

    /// <summary>Locks <paramref name="path"/> and repairs what an earlier, killed run left. With <paramref name="resuming"/>
    /// the folder's checkpoints belong to this run (they count towards the limit and are kept).</summary>
    public OutputFolder(string path, bool overwrite, int? limit, bool resuming)
    {
        _path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        _overwrite = overwrite;
        _limit = limit;
        _lock = OutputLock.Acquire(_path, Writer);
        try
        {
            Recover();
            if (resuming)
            {
                _checkpoints.AddRange(ExistingCheckpoints());
                _prepared = true;
            }
        }
        catch
        {
            _lock.Dispose();
            throw;
        }
    }

    /// <summary>True while a previous run's content is set aside, waiting for this run's adapter.</summary>
    public bool HasPrevious => _previous is not null;

    /// <summary>The checkpoint folders kept, oldest first.</summary>
    public IReadOnlyList<string> Checkpoints => _checkpoints.Select(c => c.Path).ToList();

    /// <summary>The folder checkpoint <paramref name="step"/> is written to.</summary>
    public string CheckpointPath(int step) => Path.Combine(_path, Trainer.CheckpointPrefix + step.ToString(CultureInfo.InvariantCulture));

    /// <summary>Writes checkpoint <paramref name="step"/>, first removing the oldest beyond the limit, but never
    /// <paramref name="keep"/> (the best checkpoint, as Hugging Face keeps it: then one more than the limit may stay).</summary>
    public string SaveCheckpoint(ITrainingTuner tuner, int step, Action<string> alsoWrite, string? keep = null)
    {
        Prepare();
        var folder = CheckpointPath(step);
        _checkpoints.RemoveAll(c => c.Step == step);
        // Rotate first, so a kill at any moment leaves at most save_total_limit checkpoints (the newest kept).
        while (_limit is { } limit && _checkpoints.Count >= limit)
        {
            var oldest = _checkpoints.FindIndex(c => !SamePath(c.Path, keep));
            if (oldest < 0) break;
            AtomicFolder.Delete(_checkpoints[oldest].Path);
            _checkpoints.RemoveAt(oldest);
        }
        tuner.Save(folder, overwrite: true, alsoWrite);
        _checkpoints.Add((step, folder));
        return folder;
    }

    /// <summary>Writes the adapter into a hidden folder inside output_dir, then moves its files into place: the weights
    /// first and adapter_config.json last, so a folder with a config always has the weights that belong to it. Only then
    /// is a previous run's content (moved aside by <see cref="Prepare"/>) deleted.</summary>
    public void SaveFinal(ITrainingTuner tuner) =>
        PlaceFinal(temp => tuner.Save(temp, overwrite: false));

    /// <summary>The final adapter is checkpoint <paramref name="checkpoint"/>'s (load_best_model_at_end): its files,
    /// byte for byte, moved into place as <see cref="SaveFinal"/> does.</summary>
    public void SaveFinalFrom(string checkpoint) => PlaceFinal(temp =>
    {
        Directory.CreateDirectory(temp);
        foreach (var file in AdapterFiles) File.Copy(Path.Combine(checkpoint, file), Path.Combine(temp, file));
    });

    /// <summary>Fills a hidden folder with the adapter's files, moves them into output_dir (config last), and only then
    /// lets a previous run's content go.</summary>
    private void PlaceFinal(Action<string> fill)
    {
        Prepare();
        var temp = Path.Combine(_path, $".adapter.{Guid.NewGuid():N}.partial");
        try
        {
            fill(temp);
            foreach (var file in AdapterFiles)
                File.Move(Path.Combine(temp, file), Path.Combine(_path, file), overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw AtomicFolder.WriteFailed(Path.Combine(_path, TrainableTokensAdapterConfig.FileName), e);
        }
        finally
        {
            AtomicFolder.DeleteQuietly(temp);
        }
        if (_previous is not null) AtomicFolder.Delete(_previous);
        _previous = null;
    }

    /// <summary>Writes one of the run's own files (metrics.jsonl, the loss curve) atomically into output_dir.</summary>
    public void WriteRunFile(string name, byte[] content)
    {
        Prepare();
        var path = Path.Combine(_path, name);
        try
        {
            AtomicFile.WriteAllBytes(path, content);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw AtomicFolder.WriteFailed(path, e);
        }
    }

    /// <summary>After a cancel that left no checkpoint: the run's own files go, and output_dir too when this run made it
    /// and it is empty, so a cancelled run that saved nothing leaves nothing.</summary>
    public void DiscardRunFiles()
    {
        foreach (var file in RunFiles) File.Delete(Path.Combine(_path, file));
        if (_created && Directory.Exists(_path) && !Directory.EnumerateFileSystemEntries(_path).Any()) Directory.Delete(_path);
    }

    /// <summary>After a failure or a cancel: a previous run's content comes back in place of this run's.</summary>
    public void RestorePrevious()
    {
        if (_previous is null) return;
        RestoreFrom(_previous, sentinel: _previousComplete);
        _previous = null;
    }

    public void Dispose() => _lock.Dispose();

    private static readonly string[] AdapterFiles = [AdapterFolder.WeightsFileName, TrainableTokensAdapterConfig.FileName];

    /// <summary>The files a run writes beside its adapter: moved aside, restored and replaced with it.</summary>
    private static readonly string[] RunFiles = [MetricsLog.FileName, LossCurveSvg.FileName];

    private static bool SamePath(string a, string? b) => b is not null && string.Equals(Path.TrimEndingDirectorySeparator(a), Path.TrimEndingDirectorySeparator(b), StringComparison.Ordinal);

    private void Prepare()
    {
        if (_prepared)
        {
            // A run resumed from a checkpoint elsewhere writes into an output_dir that may not exist yet.
            if (!Directory.Exists(_path)) Create();
            return;
        }
        _prepared = true;
        try
        {
            if (Directory.Exists(_path))
            {
                var old = Directory.EnumerateDirectories(_path, Trainer.CheckpointPrefix + "*")
                    .Concat(AdapterFiles.Concat(RunFiles).Select(f => Path.Combine(_path, f)).Where(File.Exists))
                    .ToList();
                if (old.Count > 0)
                {
                    if (!_overwrite)
                        throw new OutputConflictException($"The output folder '{_path}' already holds a run's checkpoints or adapter. Set overwrite_output_dir: true (or use -Force) to replace them, set resume_from_checkpoint to continue that run, or choose another output_dir.", _path);
                    // Renames only: cheap, and the previous result survives until this run's adapter is complete.
                    _previous = Path.Combine(_path, PreviousPrefix + Guid.NewGuid().ToString("N"));
                    Directory.CreateDirectory(_previous);
                    foreach (var item in old)
                    {
                        var target = Path.Combine(_previous, Path.GetFileName(item));
                        if (Directory.Exists(item)) Directory.Move(item, target);
                        else File.Move(item, target);
                    }
                    File.WriteAllText(Path.Combine(_previous, MovedSentinel), "");
                    _previousComplete = true;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw AtomicFolder.WriteFailed(_path, e);
        }
        Create();
    }

    private void Create()
    {
        try
        {
            _created = !Directory.Exists(_path);
            Directory.CreateDirectory(_path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw AtomicFolder.WriteFailed(_path, e);
        }
    }

    /// <summary>Repairs what a killed run left in output_dir (called under the lock, so no run of ours is writing it).</summary>
    private void Recover()
    {
        if (!Directory.Exists(_path)) return;
        foreach (var entry in Directory.EnumerateFileSystemEntries(_path, ".*").ToList())
        {
            var name = Path.GetFileName(entry);
            var leftover = Leftover().Match(name);
            if (leftover.Success) AtomicFolder.RecoverInterrupted(Path.Combine(_path, leftover.Groups[1].Value));
            // Locks and temporary files of writes a kill interrupted: nobody holds them, as this run holds output_dir's lock.
            else if (StaleLock().IsMatch(name)) AtomicFolder.DeleteQuietly(entry);
        }
        foreach (var previous in Directory.EnumerateDirectories(_path, PreviousPrefix + "*").ToList())
        {
            var moved = File.Exists(Path.Combine(previous, MovedSentinel));
            // The killed run finished its adapter (config written last): the previous content was due for deletion.
            if (moved && File.Exists(Path.Combine(_path, TrainableTokensAdapterConfig.FileName))) AtomicFolder.Delete(previous);
            else RestoreFrom(previous, moved);
        }
        // A weights file whose config never arrived belongs to a run killed while moving its adapter into place.
        var weights = Path.Combine(_path, AdapterFolder.WeightsFileName);
        if (File.Exists(weights) && !File.Exists(Path.Combine(_path, TrainableTokensAdapterConfig.FileName))) File.Delete(weights);
    }

    /// <summary>Puts a previous run's content back. With <paramref name="sentinel"/> the move aside was complete, so
    /// every checkpoint and adapter file now in output_dir is the newer run's and goes first.</summary>
    private void RestoreFrom(string previous, bool sentinel)
    {
        if (sentinel)
        {
            foreach (var dir in Directory.EnumerateDirectories(_path, Trainer.CheckpointPrefix + "*").ToList()) AtomicFolder.Delete(dir);
            foreach (var file in AdapterFiles.Concat(RunFiles)) File.Delete(Path.Combine(_path, file));
        }
        foreach (var item in Directory.EnumerateFileSystemEntries(previous).ToList())
        {
            var name = Path.GetFileName(item);
            if (name == MovedSentinel) continue;
            var target = Path.Combine(_path, name);
            if (Directory.Exists(item)) { if (!Directory.Exists(target)) Directory.Move(item, target); }
            else if (!File.Exists(target)) File.Move(item, target);
        }
        AtomicFolder.Delete(previous);
        _checkpoints.Clear();
    }

    /// <summary>The complete checkpoint-N folders in output_dir, by step.</summary>
    public IReadOnlyList<(int Step, string Path)> ExistingCheckpoints() => CompleteCheckpoints(_path);

    /// <summary>The complete checkpoint-N folders in <paramref name="outputDir"/>, by step (none when it does not exist).</summary>
    public static IReadOnlyList<(int Step, string Path)> CompleteCheckpoints(string outputDir)
    {
        if (!Directory.Exists(outputDir)) return [];
        return Directory.EnumerateDirectories(outputDir, Trainer.CheckpointPrefix + "*")
            .Select(d => (Ok: int.TryParse(Path.GetFileName(d)[Trainer.CheckpointPrefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var s), Step: s, Path: d))
            .Where(c => c.Ok && File.Exists(Path.Combine(c.Path, TrainableTokensAdapterConfig.FileName)))
            .OrderBy(c => c.Step)
            .Select(c => (c.Step, c.Path))
            .ToList();
    }

    [GeneratedRegex("^\\.(checkpoint-[0-9]+|adapter\\.[0-9a-f]{32}\\.partial)\\.lock(\\.json)?$|^\\..+\\.[0-9a-f]{32}\\.tmp$")]
    private static partial Regex StaleLock();

    [GeneratedRegex("^\\.(.+)\\.[0-9a-f]{32}\\.(partial|old|deleting)$")]
    private static partial Regex Leftover();
}
