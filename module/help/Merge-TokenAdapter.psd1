@{
    Synopsis    = 'Merges Trainable Tokens and LoRA adapters into a copy of a Hugging Face model folder, without loading the model.'
    Description = @(
        'Merge-TokenAdapter writes -OutputPath as a complete Hugging Face model folder: every file of -Model is copied, then only the trained rows of each adapter are written into the copy, in place (the input embedding; with target_modules [embed_tokens, lm_head] on an untied model, the LM head''s rows too, into lm_head.weight; a tied head shares the embedding and needs nothing more). The model is never loaded, so the merge takes about as long as copying the folder and needs memory for the adapters'' rows only. Every other tensor stays byte-identical.'
        'Several adapters can be merged at once when their token ids are disjoint; overlapping adapters are refused before anything is written. All checks (the adapter targets a module the model has, its tensors are exactly those its target_modules selects on this model, by the rule training and loading use: an lm_head entry that target_modules does not name is accepted only as a tied head''s copy of the embedding''s rows, as PEFT 0.20+ writes it, and a copy that differs is an error naming both keys; shapes and hidden size match, token ids lie inside the vocabulary, -SafeMerge finds no NaN or infinity) run before the copy starts. The output appears complete or not at all: a failure, Ctrl+C, kill or full disk leaves no partial folder (a full disk is reported as DiskFull naming -OutputPath). Every copied file is checked against its source (size, and the header and data length of every safetensors file), so a model that changes while it is copied is an error, not a silently broken merge. Symbolic links are followed only inside the model folder (or into its Hugging Face cache''s blobs folder); a link out of it is refused.'
        'A LoRA adapter (peft_type LORA; the kind is read from each adapter''s adapter_config.json) is merged tensor by tensor: each targeted projection is read, given W + scaling * B @ A (scaling is lora_alpha / r, or lora_alpha / sqrt(r) with use_rslora, per module with rank_pattern and alpha_pattern) and written back in place, so memory stays near the largest targeted tensor, not the model. The delta is computed in float32 and added as PEFT adds it: merge_and_unload() promotes the weight to float32 and rounds the sum once; with -SafeMerge, as PEFT''s safe_merge, the delta is rounded to the weight''s dtype first. Token rows in the adapter (trainable_token_indices, a list for the embedding or a map of module to ids) are written as above; a module PEFT saved whole (modules_to_save, or a resized embedding) replaces its weight. Every tensor in the adapter must be accounted for, or nothing is written.'
        'Rows are converted to the weight''s dtype (float32, bfloat16 or float16) with round-to-nearest-even, as PEFT does when it merges. The merged folder loads in transformers'' AutoModelForCausalLM unchanged.'
    )
    Parameters  = @{
        Model      = 'The Hugging Face model folder the adapters were trained on (config.json, model.safetensors or a sharded checkpoint). Left out, it is the folder the adapters'' adapter_config.json names in base_model_name_or_path: an absolute path, or one relative to the current location or else to the adapter folder. A hub name (such as meta-llama/Llama-3.2-1B) or adapters that name different folders are an error asking for -Model.'
        Adapter    = 'One or more adapter folders (adapter_config.json + adapter_model.safetensors), from PEFT''s save_pretrained or this module. Accepts pipeline input: strings, folders from Get-ChildItem, and objects by their Path, FullName or AdapterFolder property (Get-TokenAdapter''s and Start-TokenTraining''s results).'
        OutputPath = 'The folder to write. It must not be, contain or lie inside -Model or an -Adapter folder (links resolved). An existing folder is replaced only with -Force, and only if Merge-TokenAdapter wrote it (it holds the hidden marker .trainable-tokens-output.json) or it is empty; the new one replaces it in one step once complete.'
        SafeMerge  = 'Refuse adapters whose rows or LoRA pairs hold NaN or infinite values, and LoRA merges whose result is not finite (each merged tensor is computed and checked before the copy starts); nothing is written.'
        Force      = 'Replace -OutputPath if it exists and Merge-TokenAdapter wrote it. A folder or file it did not write is never replaced.'
    }
    Inputs      = @(
        @{ Type = 'System.String'; Description = 'Adapter folder paths, by value or by the Path, FullName or AdapterFolder property.' }
        @{ Type = 'TrainableTokens.TrainingResult'; Description = 'A training result: its AdapterFolder is merged.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.AdapterMergeResult'; Description = 'OutputPath, the adapters merged, Changes (for each weight tensor: adapter, module path, tensor name, file, dtype and the token ids written), Tensors (for each tensor rewritten whole by LoRA or modules_to_save: adapters, module path, tensor name, file, dtype and the change), BytesCopied and Seconds.' }
    )
    Examples    = @(
        @{
            Title   = 'Merge one adapter'
            Code    = 'Merge-TokenAdapter -Model ./examples/models/tiny-llama3 -Adapter ./examples/adapters/quickstart -OutputPath ./out/tiny-llama3-merged'
            Remarks = 'Writes ./out/tiny-llama3-merged with rows 10002 and 10003 in model.embed_tokens.weight; the result says which tensors and rows changed.'
        }
        @{
            Title   = 'See what would change, then merge two disjoint adapters safely'
            Code    = @'
Merge-TokenAdapter ./examples/models/tiny-llama3 ./examples/adapters/quickstart, ./examples/adapters/tool -OutputPath ./out/merged -WhatIf -Verbose
Get-ChildItem ./examples/adapters -Directory | Merge-TokenAdapter -Model ./examples/models/tiny-llama3 -OutputPath ./out/merged -SafeMerge -Force
'@
            Remarks = '-WhatIf runs every check and lists the rows that would be written, and writes nothing.'
        }
        @{
            Title   = 'Train and merge, the model taken from the adapter'
            Code    = 'Start-TokenTraining ./examples/quickstart.run.yaml -MaxSteps 4 -OutputPath ./out/adapter | Merge-TokenAdapter -OutputPath ./out/merged'
            Remarks = 'The training result''s AdapterFolder binds to -Adapter; without -Model the adapter''s base_model_name_or_path names the model folder (absolute, or relative to the current location or to the adapter folder).'
        }
    )
    Notes       = 'Merging never loads the model, so it works for checkpoints larger than memory. To undo a merge, keep the original folder: the merge writes a new one.'
    Links       = @('Get-TokenAdapter', 'Invoke-TokenModel', 'about_TrainableTokens')
}
