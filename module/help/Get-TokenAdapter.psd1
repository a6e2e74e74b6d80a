@{
    Synopsis    = 'Describes an adapter folder (Trainable Tokens or LoRA): its config, tensor names, shapes, dtype, token ids, and a LoRA adapter''s rank, alpha and targets.'
    Description = @(
        'Get-TokenAdapter reads adapter_config.json and adapter_model.safetensors (no model) and returns one object per folder: PeftType, TokenIndices, TargetModules, InitWeights, BaseModelNameOrPath, PeftVersion, the tensors (name, module path, shape, dtype), Modules (the modules with rows of their own, such as model.embed_tokens and lm_head), HeadRows, and any config keys from newer PEFT versions that this module keeps but does not interpret.'
        'HeadRows says what the adapter does with the LM head: None (no lm_head entry), Own (the head''s own rows, from target_modules [embed_tokens, lm_head] on an untied model; such a model can then predict the new tokens) or TiedCopy (an lm_head entry that repeats the embedding''s rows, as PEFT 0.20+ and this module save a tied model''s adapter). Only when the file has both entries are their rows read and compared; an lm_head entry that differs from the embedding''s while target_modules does not name lm_head is an error naming both keys, as Merge-TokenAdapter and loading refuse it.'
        'A LoRA adapter (peft_type LORA) gives a LoraAdapterSummary instead: PeftType, Rank (r), LoraAlpha, LoraDropout, UseRslora, TargetModules as written in adapter_config.json, Modules (the projections the file holds pairs for: the targets as resolved when it was trained) with their Ranks, TokenIndices and TokenIndicesByModule (trainable_token_indices, when it trains token rows too), BaseModelNameOrPath, PeftVersion, Tensors and ExtraConfigKeys.'
        'Use it to check an adapter from Python before merging it, or to pick the token ids of an adapter for a config.'
    )
    Parameters  = @{
        Path = 'One or more adapter folders. Accepts pipeline input: strings, folders from Get-ChildItem -Directory, and Start-TokenTraining''s result (its AdapterFolder property).'
    }
    Inputs      = @(
        @{ Type = 'System.String'; Description = 'Adapter folder paths, by value or by the FullName or AdapterFolder property.' }
        @{ Type = 'TrainableTokens.TrainingResult'; Description = 'A training result: its AdapterFolder is described.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.AdapterSummary'; Description = 'Path, PeftType, TokenIndices, TargetModules, InitWeights, BaseModelNameOrPath, PeftVersion, Tensors, Modules, HeadRows and ExtraConfigKeys.' }
        @{ Type = 'TrainableTokens.LoraAdapterSummary'; Description = 'For a LoRA adapter: Path, PeftType, Rank, LoraAlpha, LoraDropout, UseRslora, TargetModules, ExcludeModules, Modules, Ranks, TokenIndices, TokenIndicesByModule, BaseModelNameOrPath, PeftVersion, Tensors and ExtraConfigKeys.' }
    )
    Examples    = @(
        @{
            Title   = 'See what a LoRA adapter adapts'
            Code    = '$trained = Start-TokenTraining ./examples/lora.run.yaml -MaxSteps 2 -OutputPath ./out/lora; $a = Get-TokenAdapter $trained.AdapterFolder; "r $($a.Rank), alpha $($a.LoraAlpha): $($a.Modules -join '', '')"'
            Remarks = 'Trains the shipped LoRA example for two steps, then shows the adapter''s rank and alpha and the projections it holds pairs for: r 8, alpha 16: model.layers.0.self_attn.q_proj, model.layers.0.self_attn.v_proj, ...'
        }
        @{
            Title   = 'Look at an adapter'
            Code    = 'Get-TokenAdapter ./examples/adapters/quickstart'
            Remarks = 'Shows the token ids it trains and the tensors it holds, e.g. base_model.model.model.embed_tokens.trainable_tokens_delta [2, 32] F32.'
        }
        @{
            Title   = 'Check that an adapter for an untied model trains its head'
            Code    = '(Get-TokenAdapter ./examples/adapters/quickstart).HeadRows -eq ''Own'''
            Remarks = 'True when the adapter holds the LM head''s own rows beside the embedding''s (target_modules [embed_tokens, lm_head]); without them an untied model reads the new tokens but never predicts them. The tiny model is tied, so this is False.'
        }
        @{
            Title   = 'Find adapters that train a given token'
            Code    = 'Get-ChildItem ./examples/adapters -Directory | Get-TokenAdapter | Where-Object TokenIndices -Contains 10004 | Select-Object Path'
            Remarks = 'Objects on the pipeline: filter on their properties.'
        }
        @{
            Title   = 'Describe the adapter a training run wrote'
            Code    = 'Start-TokenTraining ./examples/quickstart.run.yaml -MaxSteps 4 -OutputPath ./out/adapter | Get-TokenAdapter'
            Remarks = 'The training result''s AdapterFolder binds to -Path.'
        }
    )
    Notes       = 'A pickle file (adapter_model.bin) is never read; the error says how to re-save the adapter as safetensors.'
    Links       = @('Merge-TokenAdapter', 'about_TrainableTokens')
}
