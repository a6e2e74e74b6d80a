@{
    Synopsis    = 'Describes a Trainable Tokens adapter folder: its config, tensor names, shapes, dtype and token ids.'
    Description = @(
        'Get-TokenAdapter reads adapter_config.json and the header of adapter_model.safetensors (no tensor data, no model) and returns one object per folder: PeftType, TokenIndices, TargetModules, InitWeights, BaseModelNameOrPath, PeftVersion, the tensors (name, module path, shape, dtype), and any config keys from newer PEFT versions that this module keeps but does not interpret.'
        'Use it to check an adapter from Python before merging it, or to pick the token ids of an adapter for a config.'
    )
    Parameters  = @{
        Path = 'One or more adapter folders. Accepts pipeline input, e.g. from Get-ChildItem -Directory.'
    }
    Inputs      = @(
        @{ Type = 'System.String'; Description = 'Adapter folder paths, by value or by the FullName property.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.Core.Tuners.TrainableTokens.AdapterSummary'; Description = 'Path, PeftType, TokenIndices, TargetModules, InitWeights, BaseModelNameOrPath, PeftVersion, Tensors and ExtraConfigKeys.' }
    )
    Examples    = @(
        @{
            Title   = 'Look at an adapter'
            Code    = 'Get-TokenAdapter ./adapters/think'
            Remarks = 'Shows the token ids it trains and the tensors it holds, e.g. base_model.model.model.embed_tokens.trainable_tokens_delta [2, 2048] F32.'
        }
        @{
            Title   = 'Find adapters that train a given token'
            Code    = 'Get-ChildItem ./adapters -Directory | Get-TokenAdapter | Where-Object TokenIndices -Contains 128011 | Select-Object Path'
            Remarks = 'Objects on the pipeline: filter on their properties.'
        }
    )
    Notes       = 'A pickle file (adapter_model.bin) is never read; the error says how to re-save the adapter as safetensors.'
    Links       = @('Merge-TokenAdapter', 'about_TrainableTokens')
}
