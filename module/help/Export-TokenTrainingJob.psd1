@{
    Synopsis    = 'Exports a run to a job folder that Hugging Face''s Trainer and PEFT train under accelerate (FSDP or DeepSpeed ZeRO-3), for models that outgrow one GPU.'
    Description = @(
        'Export-TokenTrainingJob checks the run as Start-TokenTraining does (the run file''s schema, the model''s config.json, token ids, targets, the dataset), except for this machine''s device and memory: the job trains elsewhere, on a model that may be far larger than this machine. It then writes -OutputPath as a self-contained job folder: job.json (every setting, resolved), a copy of the run file (run.yaml), train.py, requirements.txt, the accelerate config (accelerate/fsdp.yaml with fsdp_use_orig_params: true, or accelerate/deepspeed.yaml with accelerate/zero3.json), kubernetes/job.yaml and a README with the launch commands.'
        'The data is tokenised here, exactly as Start-TokenTraining would train on it: chat template applied, prompts masked, cut or packed to max_seq_length, the eval_split held out with the run''s seed, and the order each epoch visits the examples in. train.py tokenises nothing, so no tokenizer or chat-template difference on the Python side can change what it trains on. The schedule is resolved here too: warm-up steps from warmup_ratio, the total steps, the evaluation strategy and the best-model metric, so Trainer''s schedule is the engine''s. With several processes, per-process batch size or accumulation is divided so that each optimiser step takes the same examples as the engine''s step.'
        'PEFT''s config (TrainableTokensConfig, or LoraConfig with trainable_token_indices) is built from the same settings, so the adapter PEFT saves has the adapter_config.json Start-TokenTraining would write (job.json''s adapter_config), except for peft_version. Untrained token rows, which the engine starts from the mean of the trained rows, are handed over as data/initial-rows.safetensors.'
        'Every setting the Python side cannot honour exactly (for example LoRA''s random initialisation and dropout masks, which come from PyTorch''s generator; Trainer''s eval_loss, averaged per batch; a resume_from_checkpoint of the engine''s own) is a warning here and is listed in the job''s README and job.json. Bring the trained adapter back with Import-TokenTrainingJob, then Test-TokenAdapter and Merge-TokenAdapter.'
    )
    Parameters  = @{
        Path       = 'The run file (YAML) to export, as Start-TokenTraining takes it. Relative paths in it are relative to its folder. It is copied into the job as run.yaml.'
        Config     = 'A run config from New-TrainableTokensConfig, instead of a run file; relative paths are relative to the current location. The job then has no run.yaml (job.json holds every setting).'
        OutputPath = 'The job folder to write. It must not be, contain or lie inside the base model, the dataset, the eval dataset or the run file. It appears complete or not at all. The job writes its adapter and checkpoints to its output subfolder.'
        Engine     = 'Fsdp (default): accelerate with PyTorch FSDP (full sharding, one unit per decoder layer, fsdp_use_orig_params true as PEFT needs for trainable tokens, FULL_STATE_DICT so the adapter is saved whole). DeepSpeed: accelerate with DeepSpeed ZeRO-3, gathering the weights on save.'
        Processes  = 'Processes (GPUs) per node; default 1. The accelerate config''s num_processes is Processes x Nodes. When neither the accumulation nor the batch size divides by that, each step takes more examples than the engine''s and the export warns.'
        Nodes      = 'Machines the job runs on; default 1. The README and kubernetes/job.yaml give the command each node runs.'
        Model      = 'The base model folder to check and tokenise with, instead of the run''s training.base_model. job.json records it; train.py --model points the job at another copy of the same model.'
        Dataset    = 'The training data, instead of the run''s training.dataset.'
        Force      = 'Replace -OutputPath if Export-TokenTrainingJob wrote it and it holds nothing else. A job folder holding a job''s output (its output subfolder) or any file the export did not write is never replaced.'
    }
    Inputs      = @(
        @{ Type = 'System.String'; Description = 'A run file path, by value or by the FullName property.' }
        @{ Type = 'TrainableTokens.RunConfig'; Description = 'A run config from New-TrainableTokensConfig.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.JobExportResult'; Description = 'Path, Method (TRAINABLE_TOKENS or LORA), Engine, Processes, Nodes, BaseModel, TrainExamples, EvalExamples, MaxSteps, EffectiveBatchSize, LaunchCommand, Warnings (Setting and Message of each setting the job cannot honour exactly) and Files.' }
    )
    Examples    = @(
        @{
            Title   = 'Export the quickstart run and see what it would write'
            Code    = 'Export-TokenTrainingJob -Path ./examples/quickstart.run.yaml -OutputPath ./out/quickstart-job -WhatIf'
            Remarks = 'Runs every check and tokenises the data, then writes nothing.'
        }
        @{
            Title   = 'Export a LoRA run for two nodes of eight GPUs under DeepSpeed'
            Code    = @'
$job = Export-TokenTrainingJob ./examples/lora.run.yaml -OutputPath ./out/lora-job -Engine DeepSpeed -Nodes 2 -Processes 8
$job.Warnings | Format-Table Setting, Message -Wrap
$job.LaunchCommand
'@
            Remarks = 'The warnings name each setting the Python side cannot honour exactly; LaunchCommand is what one node runs (the README gives the multi-node command).'
        }
        @{
            Title   = 'Export for two GPUs and read what the job will do'
            Code    = @'
$job = Export-TokenTrainingJob ./examples/quickstart.run.yaml -OutputPath ./out/quickstart-job -Processes 2
$settings = Get-Content ./out/quickstart-job/job.json -Raw | ConvertFrom-Json
$settings.training_arguments | Select-Object max_steps, warmup_steps, per_device_train_batch_size, gradient_accumulation_steps
Get-Content ./out/quickstart-job/README.md
'@
            Remarks = 'job.json holds every resolved setting; the README gives the launch commands for one node, several nodes and Kubernetes. After training, Import-TokenTrainingJob -Path ./out/quickstart-job -OutputPath ./out/adapter brings the adapter back.'
        }
    )
    Notes       = 'The job was checked against the package versions in its requirements.txt. The data folder holds token ids, not text: re-export after changing the dataset.'
    Links       = @('Import-TokenTrainingJob', 'Start-TokenTraining', 'Test-TrainableTokensConfig', 'about_TrainableTokens')
}
