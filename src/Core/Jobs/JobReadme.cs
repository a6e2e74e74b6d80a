using System.Linq;
using System.Text;

namespace TrainableTokens.Core.Jobs;

/// <summary>The job folder's README.md: what the job trains, how to launch it (one node, several, Kubernetes), what
/// it cannot reproduce exactly, the known traps, and how the adapter comes back.</summary>
internal static class JobReadme
{
    public static string Render(JobExportPlan plan)
    {
        var run = plan.Run;
        var job = plan.Job;
        var method = job["method"]!.GetValue<string>() == "LORA" ? "a LoRA adapter" + (run.LoraAdapter!.TrainableTokenIndices is not null || run.LoraAdapter.TrainableTokenIndicesByModule is not null ? " with trainable token rows" : "") : "Trainable Tokens rows";
        var engine = plan.Request.Engine == JobEngine.Fsdp ? "PyTorch FSDP" : "DeepSpeed ZeRO-3";
        var s = new StringBuilder();
        s.Append($"""
            # Training job: {method} on {run.ModelFolder}

            Exported by {job["exported_by"]} (`Export-TokenTrainingJob`) from `{JobLayout.RunFileCopy}`. It trains with Hugging Face's
            Trainer and PEFT under accelerate ({engine}, {plan.Request.Nodes} node(s) x {plan.Request.Processes} process(es)),
            and writes a PEFT adapter to `{JobLayout.OutputFolder}/`, which comes back to TrainableTokens for tests and merging.

            | | |
            | --- | --- |
            | Method | {job["method"]} |
            | Base model | `{run.ModelFolder}` (`{run.Model.ModelType}`, loaded in {run.Training.Dtype}) |
            | Training examples | {run.Data.Train.Count} (already tokenised) |
            | Evaluation examples | {run.Data.Eval.Count} |
            | Optimiser steps | {plan.Batching.Plan.TotalSteps} ({plan.Batching.PerDeviceBatchSize} per process x {plan.Batching.GradientAccumulationSteps} accumulation x {plan.World} process(es) = {plan.Batching.PerDeviceBatchSize * plan.Batching.GradientAccumulationSteps * plan.World} examples per step) |

            ## Files

            - `{JobLayout.JobFile}`: every setting, resolved: PEFT's config (`peft_config`), `TrainingArguments`
              (`training_arguments`), the adapter_config.json TrainableTokens would write (`adapter_config`) and the warnings below.
            - `{JobLayout.TrainScript}`: the training script (the same in every job; it reads `{JobLayout.JobFile}`).
            - `data/`: the examples exactly as TrainableTokens trains on them: token ids and labels (-100 where no loss is
              taken), chat template applied, prompts masked, cut or packed to max_seq_length, the evaluation split held out, and
              the order each epoch visits them in.
            - `{ConfigFiles(plan)}`: the accelerate configuration.
            - `{JobLayout.Requirements}`: the package versions this job was checked against.
            - `{JobLayout.KubernetesJob}`: a Kubernetes Job that runs it.

            ## Run it

            ```bash
            pip install -r requirements.txt
            python train.py --dry-run      # loads the model and builds everything, then stops before training
            {JobFiles.LaunchCommand(plan, multiNode: false)}
            ```

            `python train.py` alone trains in one process (one GPU, or the CPU). The base model is read from the path in
            `{JobLayout.JobFile}`; give `--model /path/to/model` where it lives elsewhere (the same files: the data were tokenised
            with its tokenizer). `--output-dir` writes elsewhere than `{JobLayout.OutputFolder}/`; `--resume` continues from the
            newest checkpoint there. The output folder must be empty otherwise (`--overwrite-output-dir` to replace it).

            ### Several nodes

            Set `num_machines` and `num_processes` (all processes, over every node) in `{JobFiles.ConfigFile(plan.Request.Engine)}`,
            or export again with `-Nodes` and `-Processes`, then on every node, with `NODE_RANK` 0 to N-1 and `MASTER_ADDR` the
            address of node 0:

            ```bash
            {JobFiles.LaunchCommand(plan, multiNode: true)}
            ```

            `{JobLayout.KubernetesJob}` does this as an Indexed Job: `kubectl apply -f {JobLayout.KubernetesJob}`.

            ## Bring the adapter back

            ```powershell
            Import-TokenTrainingJob -Path ./job -OutputPath ./adapter
            Test-TokenAdapter -Adapter ./adapter
            Merge-TokenAdapter -Adapter ./adapter -OutputPath ./merged-model
            ```

            `Import-TokenTrainingJob` checks that the adapter's adapter_config.json matches `adapter_config` in `{JobLayout.JobFile}`
            (all but `peft_version`), repairs FSDP's wrapped tensor names, and refuses what DeepSpeed ZeRO-3 saved partitioned.

            ## What the job reproduces, and what it cannot

            The same token ids, targets, data, evaluation split, order of examples in every epoch, learning-rate schedule
            (warm-up and total steps resolved here), accumulation, gradient clipping, AdamW settings, seed, evaluation and
            checkpoint steps as `Start-TokenTraining` would use. The examples are tokenised here, so no tokenizer or chat-template
            difference on the Python side can change them.


            """);
        if (plan.Warnings.Count == 0) s.Append("Nothing in this run is known to differ.\n");
        else
        {
            s.Append("These settings differ (Export-TokenTrainingJob warned about each):\n\n");
            foreach (var w in plan.Warnings) s.Append($"- `{w.Setting}`: {w.Message}\n");
        }
        s.Append("""

            ## Known traps


            """);
        foreach (var trap in JobTraps.For(plan.Request.Engine)) s.Append($"- {trap}\n");
        s.Append($"""

            ## Versions

            {string.Join(", ", JobFiles.Pins.Select(p => $"{p.Package} {p.Version}"))}{(plan.Request.Engine == JobEngine.DeepSpeed ? $", deepspeed {JobFiles.DeepSpeedPin}" : "")}
            (`{JobLayout.Requirements}`). After training, `{JobLayout.OutputFolder}/{JobLayout.ResultFile}` records the versions that ran.

            """);
        return s.ToString();
    }

    private static string ConfigFiles(JobExportPlan plan) =>
        plan.Request.Engine == JobEngine.Fsdp ? JobLayout.FsdpConfig : $"{JobLayout.DeepSpeedConfig}` and `{JobLayout.ZeroConfig}";
}
