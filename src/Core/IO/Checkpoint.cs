using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.IO;
using System.Linq;
using TorchSharp;

namespace TrainableTokens.Core.IO;

/// <summary>
/// A model's weights: one safetensors file, or a sharded set described by <c>model.safetensors.index.json</c>. Every
/// file's header is read and checked when the checkpoint is opened; tensors are read one at a time, by name, on demand.
/// </summary>
public sealed class Checkpoint : IDisposable
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>PyTorch pickle weights, which are never loaded: unpickling a file can run code from it.</summary>
    private static readonly string[] PickleExtensions = [".bin", ".pt", ".pth", ".ckpt", ".pkl"];

    private readonly string _source;
    private readonly List<SafetensorsFile> _files;
    private readonly Dictionary<string, SafetensorsFile> _owners;
    private readonly ReadOnlyCollection<string> _names;

    private Checkpoint(string source, List<SafetensorsFile> files, List<KeyValuePair<string, SafetensorsFile>> owners)
    {
        _source = source;
        _files = files;
        _owners = owners.ToDictionary(o => o.Key, o => o.Value, StringComparer.Ordinal);
        _names = owners.Select(o => o.Key).ToList().AsReadOnly();
        Files = files.Select(f => f.Path).ToList().AsReadOnly();
    }

    /// <summary>Every tensor name: header order for one file, index order for a sharded set.</summary>
    public IReadOnlyCollection<string> Names => _names;

    /// <summary>The full paths of the safetensors files, shards in name order.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>
    /// Opens the weights of a Hugging Face model folder: <c>model.safetensors</c>, else the shards listed by
    /// <c>model.safetensors.index.json</c>. A folder with neither (for example only <c>pytorch_model.bin</c>) is an
    /// <see cref="InvalidSafetensorsException"/> that says how to convert it.
    /// </summary>
    public static Checkpoint OpenFolder(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
            throw new InvalidSafetensorsException($"The model folder '{full}' does not exist. Check the path.", full);
        var single = Path.Combine(full, SingleFileName);
        if (File.Exists(single)) return OpenFile(single);
        var index = Path.Combine(full, IndexFileName);
        if (File.Exists(index)) return OpenSharded(full, index);
        throw NoSafetensors(full);
    }

    /// <summary>Opens one safetensors file as a checkpoint.</summary>
    public static Checkpoint OpenFile(string path)
    {
        var file = SafetensorsFile.Open(path);
        return new Checkpoint(file.Path, [file], file.Tensors.Select(t => new KeyValuePair<string, SafetensorsFile>(t.Name, file)).ToList());
    }

    public bool Contains(string name) => _owners.ContainsKey(name);

    /// <summary>Where tensor <paramref name="name"/> is; <see cref="InvalidSafetensorsException"/> when the checkpoint has none of that name.</summary>
    public SafetensorsTensorInfo Info(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_owners.TryGetValue(name, out var file)) return file.Info(name);
        var sample = string.Join(", ", _names.Take(5).Select(n => $"'{n}'"));
        throw new InvalidSafetensorsException(
            $"The checkpoint '{_source}' has no tensor '{name}'. It holds {_names.Count} tensor(s){(sample.Length > 0 ? ", such as " + sample : "")}. " +
            "Check the tensor name and that the model is the one expected.", _source);
    }

    /// <summary>Reads tensor <paramref name="name"/> into a new CPU tensor of its stored dtype and shape. The caller owns it.</summary>
    public torch.Tensor Load(string name)
    {
        Info(name);
        return _owners[name].Load(name);
    }

    /// <summary>Reads <paramref name="count"/> rows of tensor <paramref name="name"/> from row <paramref name="first"/> (see <see cref="SafetensorsFile.LoadRows"/>).</summary>
    public torch.Tensor LoadRows(string name, long first, long count)
    {
        Info(name);
        return _owners[name].LoadRows(name, first, count);
    }

    public void Dispose()
    {
        foreach (var file in _files) file.Dispose();
    }

    private static Checkpoint OpenSharded(string folder, string indexPath)
    {
        var weightMap = CheckpointIndex.Read(indexPath);
        var opened = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (var shard in weightMap.Select(e => e.Value).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                var path = Path.Combine(folder, shard);
                if (!File.Exists(path))
                {
                    var tensor = weightMap.First(e => e.Value == shard).Key;
                    throw new InvalidSafetensorsException(
                        $"The checkpoint index '{indexPath}' maps tensor '{tensor}' to shard '{shard}', but '{path}' does not exist. " +
                        "Copy the missing shard into the folder or download the model again.", path);
                }
                opened.Add(shard, SafetensorsFile.Open(path));
            }
            var owners = new List<KeyValuePair<string, SafetensorsFile>>(weightMap.Count);
            foreach (var (tensor, shard) in weightMap)
            {
                var file = opened[shard];
                if (!file.Contains(tensor))
                    throw new InvalidSafetensorsException(
                        $"The checkpoint index '{indexPath}' maps tensor '{tensor}' to shard '{shard}', but that shard has no such tensor. " +
                        "The index and the shards come from different saves; download the model again.", file.Path);
                owners.Add(new KeyValuePair<string, SafetensorsFile>(tensor, file));
            }
            return new Checkpoint(folder, opened.Values.ToList(), owners);
        }
        catch
        {
            foreach (var file in opened.Values) file.Dispose();
            throw;
        }
    }

    private static InvalidSafetensorsException NoSafetensors(string folder)
    {
        var pickles = Directory.EnumerateFiles(folder)
            .Where(p => PickleExtensions.Contains(Path.GetExtension(p), StringComparer.OrdinalIgnoreCase))
            .Select(Path.GetFileName)
            .Order(StringComparer.Ordinal)
            .ToList();
        if (pickles.Count > 0)
            return new InvalidSafetensorsException(
                $"The model folder '{folder}' has only PyTorch pickle weights ({string.Join(", ", pickles.Take(3))}{(pickles.Count > 3 ? ", ..." : "")}) " +
                $"and no {SingleFileName} or {IndexFileName}. Pickle files can run code when loaded, so they are never read. " +
                "Convert the model to safetensors first, for example in Python: " +
                "AutoModelForCausalLM.from_pretrained(folder).save_pretrained(folder, safe_serialization=True).", folder);
        return new InvalidSafetensorsException(
            $"The model folder '{folder}' has no {SingleFileName} and no {IndexFileName}. " +
            "Point at a Hugging Face model folder that holds safetensors weights.", folder);
    }
}
