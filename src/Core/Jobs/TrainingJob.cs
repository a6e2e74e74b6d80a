using System;
using System.IO;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Tuners;
using TrainableTokens.Core.Tuners.Lora;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Core.Jobs;

/// <summary>
/// What Import-TokenTrainingJob needs from a job folder's job.json: its method, the base model it trained on, and the
/// adapter_config.json the job was meant to produce. Every other field is train.py's business and is not read here.
/// </summary>
public sealed record TrainingJob(string Folder, string JobFile, PeftMethod Method, string? BaseModel, JsonObject AdapterConfig)
{
    /// <summary>job.json holds the whole run's settings, never data: past this it is not a job file.</summary>
    public const long MaxFileBytes = 16L << 20;

    /// <summary>Reads and checks <paramref name="folder"/>/job.json; a missing file or a missing or malformed field is an
    /// <see cref="InvalidJobException"/> naming the file and the field.</summary>
    public static TrainingJob Read(string folder)
    {
        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
            throw new InvalidJobException(InvalidJobException.InvalidJob,
                $"Job folder '{full}' does not exist. Give the folder Export-TokenTrainingJob wrote (it holds {JobLayout.JobFile}).", full);
        var path = Path.Combine(full, JobLayout.JobFile);
        if (FileKind.Of(path) == FileKindValue.Missing)
            throw new InvalidJobException(InvalidJobException.InvalidJob,
                $"'{full}' has no {JobLayout.JobFile}, so it is not a job folder Export-TokenTrainingJob wrote. Give that folder (-Path), not its output folder.", path);
        string text;
        try
        {
            text = UserFile.ReadAllText(path, MaxFileBytes, "job file", message => new InvalidJobException(InvalidJobException.InvalidJob, message, path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidJobException(InvalidJobException.InvalidJob, $"'{path}' cannot be read: {e.Message} Check the file and its permissions.", path, e);
        }
        return Parse(text, full, path);
    }

    internal static TrainingJob Parse(string text, string folder, string path)
    {
        InvalidJobException Bad(string field, string problem) => new(InvalidJobException.InvalidJob,
            $"'{path}': {field} {problem}. Export the job again with Export-TokenTrainingJob, or fix the field.", path);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 64 }) as JsonObject
                ?? throw new InvalidJobException(InvalidJobException.InvalidJob, $"'{path}' must hold a JSON object (Export-TokenTrainingJob's job file).", path);
            _ = root.Count; // a duplicate key surfaces here, not later
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidJobException(InvalidJobException.InvalidJob, $"'{path}' is not valid JSON: {e.Message} Export the job again with Export-TokenTrainingJob.", path, e);
        }

        if (root["kind"] is not JsonValue kind || kind.GetValueKind() != JsonValueKind.String || (string)kind! != JobLayout.Kind)
            throw Bad("\"kind\"", $"is {Show(root["kind"])}, not \"{JobLayout.Kind}\" (this file is not a training job)");
        if (root["format"] is not JsonValue format || !format.TryGetValue<int>(out var number))
            throw Bad("\"format\"", $"is {Show(root["format"])}, not a whole number");
        if (number != JobLayout.Format)
            throw new InvalidJobException(InvalidJobException.InvalidJob,
                $"'{path}': \"format\" is {number}, but this version of the module reads format {JobLayout.Format}. Import it with the module version that exported it, or export the job again.", path);

        var methodText = root["method"] is JsonValue m && m.GetValueKind() == JsonValueKind.String ? (string)m! : null;
        var method = methodText switch
        {
            TrainableTokensAdapterConfig.PeftType => PeftMethod.TrainableTokens,
            LoraConfig.PeftType => PeftMethod.Lora,
            _ => throw Bad("\"method\"", $"is {Show(root["method"])}; it must be \"{TrainableTokensAdapterConfig.PeftType}\" or \"{LoraConfig.PeftType}\""),
        };

        string? baseModel = root["base_model"] switch
        {
            null => null,
            JsonValue b when b.GetValueKind() == JsonValueKind.String && ((string)b!).Length > 0 => (string)b!,
            JsonValue b when b.GetValueKind() == JsonValueKind.Null => null,
            var other => throw Bad("\"base_model\"", $"is {Show(other)}, not a path"),
        };

        if (root["adapter_config"] is not JsonObject config)
            throw Bad("\"adapter_config\"", $"is {Show(root["adapter_config"])}, not an object (the adapter_config.json the job is to produce)");
        var declared = config["peft_type"] is JsonValue p && p.GetValueKind() == JsonValueKind.String ? (string)p! : null;
        if (declared != methodText)
            throw Bad("\"adapter_config.peft_type\"", $"is {Show(config["peft_type"])}, but \"method\" is \"{methodText}\"; they must agree");
        return new TrainingJob(folder, path, method, baseModel, config);
    }

    /// <summary>A JSON value for a message: missing, or its text cut short.</summary>
    internal static string Show(JsonNode? node)
    {
        if (node is null) return "missing";
        var json = node.ToJsonString();
        return json.Length <= 60 ? json : json[..57] + "...";
    }

    /// <summary>The adapter folder train.py writes by default: the job's output folder.</summary>
    public string DefaultAdapterFolder => Path.Combine(Folder, JobLayout.OutputFolder);
}
