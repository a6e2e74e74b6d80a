using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Core.Training;

/// <summary>
/// A run's output_dir: checkpoint-N folders (each written atomically, the oldest removed beyond the limit) and the
/// final adapter's two files. Nothing is touched until the first write, so a run cancelled before it leaves the
/// folder as it was; an existing folder's old content is cleared then (only when overwriting was allowed).
/// </summary>
internal sealed class OutputFolder
{
    private readonly string _path;
    private readonly bool _overwrite;
    private readonly int? _limit;
    private readonly List<string> _checkpoints = new();
    private bool _prepared;

    public OutputFolder(string path, bool overwrite, int? limit)
    {
        _path = path;
        _overwrite = overwrite;
        _limit = limit;
    }

    /// <summary>The checkpoint folders this run wrote and kept, oldest first.</summary>
    public IReadOnlyList<string> Checkpoints => _checkpoints.ToList();

    public string SaveCheckpoint(TrainableTokensModel model, string name, int step)
    {
        Prepare();
        var folder = Path.Combine(_path, Trainer.CheckpointPrefix + step);
        AdapterFolder.Save(model, name, folder, overwrite: true);
        _checkpoints.Add(folder);
        while (_limit is { } limit && _checkpoints.Count > limit)
        {
            Directory.Delete(_checkpoints[0], recursive: true);
            _checkpoints.RemoveAt(0);
        }
        return folder;
    }

    /// <summary>Writes the adapter into a hidden folder inside output_dir, then moves its files into place: the weights
    /// first and adapter_config.json last, so a folder with a config always has the weights that belong to it.</summary>
    public void SaveFinal(TrainableTokensModel model, string name)
    {
        Prepare();
        var temp = Path.Combine(_path, $".adapter.{Guid.NewGuid():N}");
        AdapterFolder.Save(model, name, temp, overwrite: false);
        try
        {
            foreach (var file in new[] { AdapterFolder.WeightsFileName, TrainableTokensAdapterConfig.FileName })
                File.Move(Path.Combine(temp, file), Path.Combine(_path, file), overwrite: true);
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    private void Prepare()
    {
        if (_prepared) return;
        if (Directory.Exists(_path) && Directory.EnumerateFileSystemEntries(_path).Any())
        {
            if (!_overwrite)
                throw new IOException($"The output folder '{_path}' exists and is not empty. Set overwrite_output_dir: true (or use -Force) to replace its content, or choose another output_dir.");
            // Only what a training run writes is removed: an output_dir that also holds the run file, the data or
            // the model (output_dir: .) must not lose them.
            foreach (var dir in Directory.EnumerateDirectories(_path, "checkpoint-*")) Directory.Delete(dir, recursive: true);
            foreach (var file in new[] { AdapterFolder.WeightsFileName, TrainableTokensAdapterConfig.FileName })
                File.Delete(Path.Combine(_path, file));
        }
        Directory.CreateDirectory(_path);
        _prepared = true;
    }
}
