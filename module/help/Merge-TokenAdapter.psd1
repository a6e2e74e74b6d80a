@{
    Synopsis    = 'Merges Trainable Tokens adapters into a copy of a Hugging Face model folder, without loading the model.'
    Description = @(
        'Merge-TokenAdapter writes -OutputPath as a complete Hugging Face model folder: every file of -Model is copied, then only the trained rows of each adapter are written into the copy, in place (the input embedding; for an untied LM head targeted explicitly, its own rows too; a tied head shares the embedding and needs nothing more). The model is never loaded, so the merge takes about as long as copying the folder and needs memory for the adapters'' rows only. Every other tensor stays byte-identical.'
        'Several adapters can be merged at once when their token ids are disjoint; overlapping adapters are refused before anything is written. All checks (the adapter targets a module the model has, shapes and hidden size match, token ids lie inside the vocabulary, -SafeMerge finds no NaN or infinity) run before the copy starts. The output appears complete or not at all: a failure or Ctrl+C leaves no partial folder.'
        'Rows are converted to the weight''s dtype (float32, bfloat16 or float16) with round-to-nearest-even, as PEFT does when it merges. The merged folder loads in transformers'' AutoModelForCausalLM unchanged.'
    )
    Parameters  = @{
        Model      = 'The Hugging Face model folder the adapters were trained on (config.json, model.safetensors or a sharded checkpoint).'
        Adapter    = 'One or more adapter folders (adapter_config.json + adapter_model.safetensors), from PEFT''s save_pretrained or this module. Accepts pipeline input, e.g. from Get-ChildItem or Get-TokenAdapter.'
        OutputPath = 'The folder to write. It must not be -Model or inside it. An existing folder is replaced only with -Force.'
        SafeMerge  = 'Refuse adapters whose rows hold NaN or infinite values; nothing is written.'
        Force      = 'Replace -OutputPath if it exists.'
    }
    Inputs      = @(
        @{ Type = 'System.String'; Description = 'Adapter folder paths, by value or by the Path / FullName property.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.Core.Merging.AdapterMergeResult'; Description = 'OutputPath, the adapters merged, Changes (for each weight tensor: adapter, module path, tensor name, file, dtype and the token ids written), BytesCopied and Seconds.' }
    )
    Examples    = @(
        @{
            Title   = 'Merge one adapter'
            Code    = 'Merge-TokenAdapter -Model ./models/llama -Adapter ./adapters/think -OutputPath ./models/llama-think'
            Remarks = 'Writes ./models/llama-think with the <think> rows in model.embed_tokens.weight; the result says which tensors and rows changed.'
        }
        @{
            Title   = 'See what would change, then merge two disjoint adapters safely'
            Code    = @'
Merge-TokenAdapter ./models/llama ./adapters/think, ./adapters/tools -OutputPath ./models/llama-merged -WhatIf -Verbose
Get-ChildItem ./adapters -Directory | Merge-TokenAdapter -Model ./models/llama -OutputPath ./models/llama-merged -SafeMerge -Force
'@
            Remarks = '-WhatIf runs every check and lists the rows that would be written, and writes nothing.'
        }
    )
    Notes       = 'Merging never loads the model, so it works for checkpoints larger than memory. To undo a merge, keep the original folder: the merge writes a new one.'
    Links       = @('Get-TokenAdapter', 'Invoke-TokenModel', 'about_TrainableTokens')
}
