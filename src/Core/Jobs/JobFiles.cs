using System.Collections.Generic;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrainableTokens.Core.Jobs;

/// <summary>The job's small generated files: requirements.txt, the accelerate configs, the Kubernetes Job and launch commands.</summary>
internal static class JobFiles
{
    /// <summary>The Python packages the job was checked against (the device checks record what ran them).</summary>
    public static readonly IReadOnlyList<(string Package, string Version)> Pins = new[]
    {
        ("torch", "2.11.0"),
        ("transformers", "5.17.0"),
        ("peft", "0.21.0"),
        ("accelerate", "1.15.0"),
        ("safetensors", "0.8.0"),
    };

    public const string DeepSpeedPin = "0.19.8";

    public static string Json(JsonObject value) => value.ToJsonString(new JsonSerializerOptions
    {
        WriteIndented = true,
        // "<think>" stays readable in job.json; the file is read by json.load, not embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    public static string Requirements(JobEngine engine)
    {
        var lines = new List<string> { "# The versions this job was checked against. Install with: pip install -r requirements.txt" };
        foreach (var (package, version) in Pins) lines.Add($"{package}=={version}");
        if (engine == JobEngine.DeepSpeed) lines.Add($"deepspeed=={DeepSpeedPin}");
        return string.Join("\n", lines) + "\n";
    }

    /// <summary>transformers' decoder-layer class of each supported model_type: FSDP wraps each layer as one unit.</summary>
    public static string DecoderLayer(string modelType) => modelType switch
    {
        "llama" => "LlamaDecoderLayer",
        "mistral" => "MistralDecoderLayer",
        "qwen2" => "Qwen2DecoderLayer",
        "qwen3" => "Qwen3DecoderLayer",
        "gemma" => "GemmaDecoderLayer",
        "gemma2" => "Gemma2DecoderLayer",
        "gemma3" or "gemma3_text" => "Gemma3DecoderLayer",
        "phi3" => "Phi3DecoderLayer",
        "smollm3" => "SmolLM3DecoderLayer",
        "olmo2" => "Olmo2DecoderLayer",
        "gpt2" => "GPT2Block",
        _ => throw new System.ArgumentException($"model_type '{modelType}' has no known decoder-layer class for FSDP.", nameof(modelType)),
    };

    public static IEnumerable<(string Name, string Text)> AccelerateConfigs(JobExportPlan plan)
    {
        var values = new Dictionary<string, string>
        {
            ["num_processes"] = plan.World.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["num_machines"] = plan.Request.Nodes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["transformer_layer_cls"] = DecoderLayer(plan.Run.Model.ModelType),
            ["mixed_precision"] = MixedPrecision(plan),
        };
        if (plan.Request.Engine == JobEngine.Fsdp)
        {
            yield return (JobLayout.FsdpConfig, JobTemplates.Render("fsdp.yaml", values));
        }
        else
        {
            yield return (JobLayout.DeepSpeedConfig, JobTemplates.Render("deepspeed.yaml", values));
            yield return (JobLayout.ZeroConfig, JobTemplates.Render("zero3.json", values));
        }
    }

    /// <summary>
    /// accelerate's mixed_precision. The model is loaded in the run's dtype either way. Under FSDP it also decides the
    /// trained parameters' dtype: one FSDP unit holds one dtype, and accelerate keeps a trained unit in float32 only with
    /// mixed precision on. For trainable tokens that unit is the root (embedding, head, final norm): a small price for the
    /// engine's float32 rows. For LoRA it would be every decoder layer, doubling the sharded weights' memory, which
    /// defeats the point of sharding: A and B then train in the model's dtype, and the export says so.
    /// </summary>
    public static string MixedPrecision(JobExportPlan plan) => MixedPrecisionFor(plan.Request.Engine, plan.Run);

    public static string MixedPrecisionFor(JobEngine engine, Preflight.PreparedRun run)
    {
        var dtype = run.Training.Dtype;
        if (dtype == "float32" || engine != JobEngine.Fsdp || run.LoraAdapter is not null) return "no";
        return dtype == "bfloat16" ? "bf16" : "fp16";
    }

    public static string ConfigFile(JobEngine engine) => engine == JobEngine.Fsdp ? JobLayout.FsdpConfig : JobLayout.DeepSpeedConfig;

    /// <summary>The command that starts the job (in the job folder); with <paramref name="multiNode"/>, the one each node runs.</summary>
    public static string LaunchCommand(JobExportPlan plan, bool multiNode)
    {
        var command = $"accelerate launch --config_file {ConfigFile(plan.Request.Engine)}";
        if (multiNode) command += " --machine_rank \"$NODE_RANK\" --main_process_ip \"$MASTER_ADDR\" --main_process_port \"${MASTER_PORT:-29500}\"";
        return command + " train.py";
    }

    /// <summary>A Kubernetes Indexed Job: one pod per node, each with the node's GPUs, rank from the completion index.</summary>
    public static string Kubernetes(JobExportPlan plan)
    {
        var nodes = plan.Request.Nodes;
        var gpus = plan.Request.Processes;
        var y = new System.Text.StringBuilder();
        void L(string line) => y.Append(line).Append('\n');
        L($"# A Kubernetes Job for this exported training job: {nodes} node(s) with {gpus} GPU(s) each.");
        L("# The job folder and the base model are read from a volume (here a PersistentVolumeClaim named trainable-tokens-data");
        L("# holding the job folder at /data/job and the model at the path job.json names; or add --model to the command); the");
        L("# adapter is written to /data/job/output. Change the image, the claim and the paths to yours. Apply: kubectl apply -f job.yaml");
        L("apiVersion: batch/v1");
        L("kind: Job");
        L("metadata:");
        L("  name: trainable-tokens-job");
        L("spec:");
        L("  completionMode: Indexed");
        L($"  completions: {nodes}");
        L($"  parallelism: {nodes}");
        L("  backoffLimit: 0");
        L("  template:");
        L("    spec:");
        L("      restartPolicy: Never");
        L("      subdomain: trainable-tokens-job");
        L("      containers:");
        L("        - name: train");
        L("          # Any image with Python 3.10+ and a CUDA build of PyTorch; requirements.txt pins the rest.");
        L("          image: registry.example.com/pytorch-cuda:2.11");
        L("          workingDir: /data/job");
        L("          command: [\"bash\", \"-c\"]");
        L("          args:");
        L($"            - pip install -r requirements.txt && {LaunchCommand(plan, multiNode: nodes > 1)}");
        if (nodes > 1)
        {
            L("          env:");
            L("            - name: NODE_RANK");
            L("              valueFrom:");
            L("                fieldRef:");
            L("                  fieldPath: metadata.annotations['batch.kubernetes.io/job-completion-index']");
            L("            # Pod 0's stable name, from the headless Service below.");
            L("            - name: MASTER_ADDR");
            L("              value: trainable-tokens-job-0.trainable-tokens-job");
            L("            - name: MASTER_PORT");
            L("              value: \"29500\"");
        }
        L("          resources:");
        L("            limits:");
        L($"              nvidia.com/gpu: {gpus}");
        L("          volumeMounts:");
        L("            - name: data");
        L("              mountPath: /data");
        L("            - name: shm");
        L("              mountPath: /dev/shm");
        L("      volumes:");
        L("        - name: data");
        L("          persistentVolumeClaim:");
        L("            claimName: trainable-tokens-data");
        L("        - name: shm");
        L("          emptyDir:");
        L("            medium: Memory");
        if (nodes > 1)
        {
            L("---");
            L("# A headless Service gives each pod a stable DNS name; the others reach pod 0 through it.");
            L("apiVersion: v1");
            L("kind: Service");
            L("metadata:");
            L("  name: trainable-tokens-job");
            L("spec:");
            L("  clusterIP: None");
            L("  selector:");
            L("    job-name: trainable-tokens-job");
        }
        return y.ToString();
    }
}
