@{
    Synopsis    = 'Brings the adapter a Hugging Face Trainer + PEFT job (Export-TokenTrainingJob''s) trained back as a clean PEFT adapter folder, checked against the job and its base model.'
    Description = @(
        'Import-TokenTrainingJob reads the job folder''s job.json (format, kind, method, adapter_config, base_model; a missing or malformed field is an InvalidJob error naming the file and the field), finds the adapter the run saved (the job''s output folder, or -AdapterPath, which may be a checkpoint-N folder), and writes -OutputPath as a PEFT adapter folder: adapter_config.json exactly as the run wrote it and adapter_model.safetensors with the same tensors, their data bytes unchanged.'
        'Known traps of distributed training are handled. Tensor names saved from a wrapped model carry wrapper segments (_fsdp_wrapped_module., _checkpoint_wrapped_module., _orig_mod., a leading module.); they are renamed to PEFT''s names and each rename is reported in Repairs and with -Verbose (two names that become one are refused, AmbiguousTensorName). A trained tensor that is empty or misshaped, or token rows missing from a LoRA adapter that asks for them, is what DeepSpeed ZeRO-3 saves when it does not gather its partitioned parameters (PEFT issue #2946): it is refused (PartitionedAdapterTensor) naming the tensor and the fix, stage3_gather_16bit_weights_on_model_save: true. A folder holding only adapter_model.bin or pytorch_model.bin is never unpickled (JobAdapterNotSafetensors: save with safetensors). Keys with the adapter name appended (.default) are kept as they are: every command of this module reads them.'
        'The adapter''s adapter_config.json is compared with job.json''s adapter_config key by key (peft_version ignored; numbers by value; target_modules and exclude_modules as sets, since PEFT saves them in no fixed order; a key only one side has, at the value PEFT writes for a setting left unset, such as use_dora false, is no difference). Each difference is reported as an object (Key, Expected, Actual). A different base_model_name_or_path is reported but allowed (train.py --model moves the model); any other difference is an error (AdapterConfigDifference) naming the keys, unless -AllowConfigDifference.'
        'The repaired adapter is then checked against the base model (job.json''s base_model, or -BaseModel) by the rules Test-TokenAdapter and Merge-TokenAdapter use: its targets exist, token ids lie inside the vocabulary, rows and LoRA pairs have the model''s shapes. Merge-TokenAdapter''s plan is made too (nothing is copied), so an imported folder always merges. Every check runs before anything is written, under -WhatIf too. The output appears complete or not at all; it must not be, contain or lie inside the job folder, the adapter folder or the base model; an existing folder is replaced only with -Force, and only if Import-TokenTrainingJob wrote it.'
    )
    Parameters  = @{
        Path                  = 'The job folder Export-TokenTrainingJob wrote: it holds job.json. Accepts the FullName or JobFolder property from the pipeline.'
        AdapterPath           = 'The folder the run saved its adapter in. Left out, the job''s output folder (train.py''s default output_dir). Give a checkpoint-N folder to import an intermediate checkpoint, or the folder given to train.py --output-dir.'
        OutputPath            = 'The adapter folder to write. It must not be, contain or lie inside the job folder, the adapter folder or the base model (links resolved).'
        BaseModel             = 'The Hugging Face model folder to check the adapter against. Left out, job.json''s base_model (relative to the job folder when it is not absolute). Give it when the job ran on another machine.'
        AllowConfigDifference = 'Import even when adapter_config.json differs from job.json''s adapter_config on keys other than peft_version and base_model_name_or_path; each difference is still reported, and written as a warning.'
        Force                 = 'Replace -OutputPath if it exists and Import-TokenTrainingJob wrote it (it holds the hidden marker .trainable-tokens-output.json). A folder or file it did not write is never replaced.'
    }
    Inputs      = @(
        @{ Type = 'System.String'; Description = 'The job folder, by the FullName or JobFolder property.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.JobImportResult'; Description = 'Path (the folder written), Job, AdapterSource, BaseModel, Adapter (the AdapterSummary or LoraAdapterSummary Get-TokenAdapter gives for it), ConfigDifferences (Key, Expected, Actual), Repairs (From, To, Reason), and from the job-result.json train.py writes beside the finished adapter (a checkpoint-N folder has none): JobResult, Versions, GlobalStep and TrainLoss.' }
    )
    Examples    = @(
        @{
            Title   = 'Import a finished job''s adapter'
            Code    = '$job = New-Item -ItemType Directory ./out/job/output -Force; Copy-Item ./examples/adapters/quickstart/* $job; @{ format = 1; kind = ''trainabletokens-job''; method = ''TRAINABLE_TOKENS''; base_model = (Resolve-Path ./examples/models/tiny-llama3).Path; adapter_config = Get-Content -Raw ./out/job/output/adapter_config.json | ConvertFrom-Json } | ConvertTo-Json -Depth 5 | Set-Content ./out/job/job.json; Import-TokenTrainingJob ./out/job -OutputPath ./out/imported'
            Remarks = 'Builds a job folder by hand, as Export-TokenTrainingJob and a finished run leave it (job.json, and the adapter in output/), then writes ./out/imported. The result''s Adapter shows token ids 10002 and 10003.'
        }
        @{
            Title   = 'Import a checkpoint, then check and merge it'
            Code    = '$ckpt = New-Item -ItemType Directory ./out/job/output/checkpoint-2 -Force; Copy-Item ./examples/adapters/quickstart/* $ckpt; @{ format = 1; kind = ''trainabletokens-job''; method = ''TRAINABLE_TOKENS''; base_model = (Resolve-Path ./examples/models/tiny-llama3).Path; adapter_config = Get-Content -Raw $ckpt/adapter_config.json | ConvertFrom-Json } | ConvertTo-Json -Depth 5 | Set-Content ./out/job/job.json; $r = Import-TokenTrainingJob ./out/job -AdapterPath $ckpt -OutputPath ./out/imported; Test-TokenAdapter -Model $r.BaseModel -Adapter $r.Path; Merge-TokenAdapter -Model $r.BaseModel -Adapter $r.Path -OutputPath ./out/merged'
            Remarks = 'A run that stopped early left only checkpoint-N folders: -AdapterPath imports one. Test-TokenAdapter and Merge-TokenAdapter take the imported folder.'
        }
        @{
            Title   = 'See what an import would repair, without writing'
            Code    = '$job = New-Item -ItemType Directory ./out/job/output -Force; Copy-Item ./examples/adapters/quickstart/* $job; @{ format = 1; kind = ''trainabletokens-job''; method = ''TRAINABLE_TOKENS''; base_model = (Resolve-Path ./examples/models/tiny-llama3).Path; adapter_config = Get-Content -Raw ./out/job/output/adapter_config.json | ConvertFrom-Json } | ConvertTo-Json -Depth 5 | Set-Content ./out/job/job.json; Import-TokenTrainingJob ./out/job -OutputPath ./out/imported -WhatIf -Verbose'
            Remarks = 'Every check runs and -Verbose lists each renamed tensor and each config difference; nothing is written.'
        }
    )
    Notes       = 'Export-TokenTrainingJob''s zero3.json already sets stage3_gather_16bit_weights_on_model_save: true and its FSDP config saves a FULL_STATE_DICT; the repairs are for jobs whose script or config was changed.'
    Links       = @('Test-TokenAdapter', 'Merge-TokenAdapter', 'Get-TokenAdapter', 'about_TrainableTokens')
}
