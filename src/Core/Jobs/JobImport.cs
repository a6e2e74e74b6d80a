using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Merging;
using TrainableTokens.Core.Models;
using TrainableTokens.Core.Tuners;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Core.Jobs;

/// <summary>What to import: a job folder, where its adapter is (default: the job's output folder; a checkpoint-N folder
/// works too), the model to check it against (default: job.json's base_model), and where to write the clean adapter.</summary>
public sealed record JobImportRequest(string JobFolder, string OutputPath)
{
    public string? AdapterPath { get; init; }
    public string? BaseModel { get; init; }
    /// <summary>Accept config differences other than base_model_name_or_path (they are still reported).</summary>
    public bool AllowConfigDifference { get; init; }
    /// <summary>Replace <see cref="OutputPath"/> when Import-TokenTrainingJob wrote it.</summary>
    public bool Overwrite { get; init; }
}

/// <summary>What an import wrote (or, from <see cref="JobImport.Plan"/>, would write): the clean adapter's folder and its
/// summary (an <see cref="AdapterSummary"/> or a <see cref="LoraAdapterSummary"/>, as Get-TokenAdapter gives; null in a
/// plan), the config differences found, the tensors renamed, and train.py's job-result.json when there is one.</summary>
public sealed record JobImportResult(string Path, string Job, string AdapterSource, string BaseModel, object? Adapter,
    IReadOnlyList<ConfigDifference> ConfigDifferences, IReadOnlyList<TensorRepair> Repairs, JobResultValues? JobResult)
{
    public IReadOnlyDictionary<string, string?>? Versions => JobResult?.Versions;
    public long? GlobalStep => JobResult?.GlobalStep;
    public double? TrainLoss => JobResult?.TrainLoss;
}

/// <summary>
/// Brings the adapter a Hugging Face Trainer + PEFT job wrote back as a clean PEFT adapter folder: job.json read and
/// checked, the adapter found, tensor names from wrapped models repaired, ZeRO-3 partitioned tensors refused, its
/// adapter_config.json compared with the one the job asked for, the result checked against the base model by the rules
/// Test-TokenAdapter and Merge-TokenAdapter use, and written atomically. Every check runs before anything is written.
/// </summary>
public static class JobImport
{
    /// <summary>The command named in the output's marker: -Force replaces only folders it wrote.</summary>
    public const string Writer = "Import-TokenTrainingJob";
    private static readonly string[] PickleFiles = [AdapterFolder.PickleFileName, "pytorch_model.bin"];

    /// <summary>Runs every check and returns what <see cref="Run"/> would write; writes nothing.</summary>
    public static JobImportResult Plan(JobImportRequest request)
    {
        using var staged = Prepare(request);
        return staged.Result;
    }

    public static JobImportResult Run(JobImportRequest request)
    {
        using var staged = Prepare(request);
        var output = Path.GetFullPath(request.OutputPath);
        AtomicFolder.Write(output, temp =>
        {
            foreach (var file in new[] { TrainableTokensAdapterConfig.FileName, AdapterFolder.WeightsFileName })
                File.Copy(Path.Combine(staged.Folder, file), Path.Combine(temp, file));
        }, request.Overwrite, Writer);
        var summary = PeftAdapter.MethodOf(output) == PeftMethod.Lora ? (object)LoraAdapterSummary.Read(output) : AdapterSummary.Read(output);
        return staged.Result with { Adapter = summary };
    }

    /// <summary>The repaired adapter in a temporary folder of its own, checked; disposing removes it.</summary>
    private sealed class Staged : IDisposable
    {
        private readonly string _root = Directory.CreateTempSubdirectory("tt-import-").FullName;

        // Named as the job's adapter folder, so messages that name an adapter by its folder's name read the same.
        public Staged(string adapter) => Folder = Directory.CreateDirectory(Path.Combine(_root, Path.GetFileName(adapter))).FullName;

        public string Folder { get; }
        public JobImportResult Result { get; set; } = null!;
        public void Dispose() => AtomicFolder.DeleteQuietly(_root);
    }

    private static Staged Prepare(JobImportRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var job = TrainingJob.Read(request.JobFolder);
        var adapter = Path.TrimEndingDirectorySeparator(Path.GetFullPath(request.AdapterPath ?? job.DefaultAdapterFolder));
        var (configBytes, configPath) = LocateAdapter(adapter, request.AdapterPath is not null);
        var modelFolder = BaseModelFolder(job, request.BaseModel);
        var output = Path.GetFullPath(request.OutputPath);
        OutputGuard.EnsureApart(output, "-OutputPath",
            [new CommandInput("job folder", job.Folder), new CommandInput("base model folder", modelFolder), new CommandInput("adapter folder", adapter)]);
        AtomicFolder.EnsureWritable(output, request.Overwrite, Writer);
        var model = ModelConfigReader.ReadFolder(modelFolder);

        var actual = ParseConfig(configBytes, configPath);
        var differences = AdapterConfigComparison.Compare(job.AdapterConfig, actual);
        var refused = differences.Where(d => d.Key != AdapterConfigComparison.BaseModelKey).ToList();
        if (refused.Count > 0 && !request.AllowConfigDifference)
            throw new InvalidJobException(InvalidJobException.ConfigDifference,
                $"'{configPath}' differs from the adapter_config in '{job.JobFile}' on {string.Join(", ", refused.Select(d => d.Key))}: " +
                $"{string.Join("; ", refused.Take(3))}{(refused.Count > 3 ? $"; and {refused.Count - 3} more" : "")}. " +
                "The run did not train what the job asked for (an edited train.py or job.json, or another PEFT version). Train again from the exported job, " +
                "or use -AllowConfigDifference to import it as it is.", configPath);

        var method = PeftAdapter.MethodOf(adapter);
        var staged = new Staged(adapter);
        try
        {
            IReadOnlyList<TensorRepair> repairs;
            using (var weights = AdapterFolder.OpenWeights(adapter))
            {
                repairs = TensorNameRepair.Plan(weights.Tensors.Select(t => t.Name).ToList(), weights.Path);
                var renamed = repairs.ToDictionary(r => r.From, r => r.To, StringComparer.Ordinal);
                string NameOf(string name) => renamed.TryGetValue(name, out var to) ? to : name;
                if (method == PeftMethod.Lora)
                {
                    var lora = LoraAdapterFolder.ReadConfig(adapter);
                    PartitionedTensorCheck.Ensure(weights, NameOf, method, lora.TrainableTokenIndices, lora.TrainableTokenIndicesByModule, model.HiddenSize);
                }
                else
                {
                    PartitionedTensorCheck.Ensure(weights, NameOf, method, AdapterFolder.ReadConfig(adapter).TokenIndices, null, model.HiddenSize);
                }
                File.WriteAllBytes(Path.Combine(staged.Folder, TrainableTokensAdapterConfig.FileName), configBytes);
                // Each tensor's bytes are read and written as stored: only the names change.
                var sources = weights.Tensors.Select(t => new TensorSource(NameOf(t.Name), t.DType, t.Shape, () => weights.Load(t.Name))).ToList();
                var metadata = weights.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
                SafetensorsWriter.WriteStreamed(Path.Combine(staged.Folder, AdapterFolder.WeightsFileName), sources, metadata);
            }
            // The same rules Test-TokenAdapter and Merge-TokenAdapter apply, on the repaired folder; messages name the job's adapter.
            string Named(string message) => message.Replace(staged.Folder, adapter, StringComparison.Ordinal);
            var problems = AdapterCompatibility.Problems(staged.Folder, modelFolder, model).Select(Named).ToList();
            if (problems.Count > 0)
                throw new InvalidAdapterException(
                    $"The adapter '{adapter}' does not fit the base model '{modelFolder}': {string.Join("; ", problems.Take(3))}" +
                    (problems.Count > 3 ? $"; and {problems.Count - 3} more" : "") + ". Give the model the job trained (-BaseModel).", adapter);
            // Merge-TokenAdapter's plan adds what fitting alone does not cover (stray rows, a tied head's copy that differs),
            // so an imported folder always merges. It writes nothing; its output path is never created.
            try
            {
                AdapterMerge.Plan(new AdapterMergeRequest(modelFolder, [staged.Folder], Path.Combine(Path.GetTempPath(), $"tt-import-check-{Guid.NewGuid():N}")));
            }
            catch (InvalidAdapterException e)
            {
                throw new InvalidAdapterException(Named(e.Message), adapter, e);
            }
            // job-result.json describes the run's final adapter: a checkpoint's folder has none, and the final one's would mislead.
            staged.Result = new JobImportResult(output, job.Folder, adapter, modelFolder, null, differences, repairs, JobResultValues.Find(adapter));
            return staged;
        }
        catch
        {
            staged.Dispose();
            throw;
        }
    }

    /// <summary>The adapter's adapter_config.json bytes; a missing folder or config, or a pickle-only folder, says what to do.</summary>
    private static (byte[] Bytes, string Path) LocateAdapter(string adapter, bool given)
    {
        var where = given ? "-AdapterPath" : $"the job's {JobLayout.OutputFolder} folder";
        if (!Directory.Exists(adapter))
            throw new InvalidJobException(InvalidJobException.AdapterNotFound,
                $"There is no adapter at '{adapter}' ({where}): the job has not run to the end yet (train.py saves its adapter there when it finishes), " +
                "or it wrote elsewhere (--output-dir). Give the folder with -AdapterPath.", adapter);
        var configPath = Path.Combine(adapter, TrainableTokensAdapterConfig.FileName);
        if (FileKind.Of(configPath) == FileKindValue.Missing)
        {
            var checkpoints = Directory.EnumerateDirectories(adapter, "checkpoint-*").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            throw new InvalidJobException(InvalidJobException.AdapterNotFound,
                $"'{adapter}' ({where}) has no {TrainableTokensAdapterConfig.FileName}" +
                (checkpoints.Count > 0
                    ? $": the run did not finish, but it saved {string.Join(", ", checkpoints.Take(3))}{(checkpoints.Count > 3 ? $" and {checkpoints.Count - 3} more" : "")}. Give one with -AdapterPath, or finish the run (train.py --resume)."
                    : ". Give the folder PEFT's save_pretrained wrote (the job's output, or one of its checkpoint-N folders) with -AdapterPath."), configPath);
        }
        if (!File.Exists(Path.Combine(adapter, AdapterFolder.WeightsFileName)))
        {
            var pickle = PickleFiles.FirstOrDefault(p => File.Exists(Path.Combine(adapter, p)));
            if (pickle is not null)
                throw new InvalidJobException(InvalidJobException.AdapterNotSafetensors,
                    $"'{adapter}' holds only {pickle}, a pickle file, which is never loaded here because unpickling can run arbitrary code. " +
                    "Save the adapter with safetensors: model.save_pretrained(folder, safe_serialization=True), or TrainingArguments(save_safetensors=True) (train.py's default).",
                    Path.Combine(adapter, pickle));
            throw new InvalidJobException(InvalidJobException.AdapterNotFound,
                $"'{adapter}' has {TrainableTokensAdapterConfig.FileName} but no {AdapterFolder.WeightsFileName}: the save did not finish. Save the adapter again, or give a checkpoint-N folder with -AdapterPath.",
                Path.Combine(adapter, AdapterFolder.WeightsFileName));
        }
        var bytes = UserFile.ReadAllBytes(configPath, TrainableTokensAdapterConfig.MaxFileBytes, "adapter config", message => new InvalidAdapterException(message, configPath));
        return (bytes, configPath);
    }

    private static JsonObject ParseConfig(byte[] bytes, string path)
    {
        var text = UserFile.DecodeUtf8(bytes, path, "adapter config", message => new InvalidAdapterException(message, path));
        try
        {
            var root = JsonNode.Parse(text) as JsonObject ?? throw new InvalidAdapterException($"'{path}' must hold a JSON object (PEFT's adapter config).", path);
            _ = root.Count;
            return root;
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidAdapterException($"'{path}' is not valid JSON: {e.Message} Save the adapter again with PEFT's save_pretrained.", path, e);
        }
    }

    /// <summary>-BaseModel, else job.json's base_model (relative to the job folder); it must be a local model folder.</summary>
    private static string BaseModelFolder(TrainingJob job, string? given)
    {
        var name = given ?? job.BaseModel
            ?? throw new BaseModelNotFoundException($"'{job.JobFile}' has no base_model, so the model to check the adapter against is unknown: give it with -BaseModel.", job.JobFile);
        var folder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(name, job.Folder));
        if (!File.Exists(Path.Combine(folder, "config.json")))
            throw new BaseModelNotFoundException(
                given is not null
                    ? $"-BaseModel '{folder}' is not a local model folder (it has no config.json). Give the folder of the model the job trained."
                    : $"base_model '{name}' in '{job.JobFile}' is not a local model folder here (no config.json in '{folder}'): the job may have run on another machine. Give the model folder with -BaseModel.",
                folder);
        return folder;
    }
}
