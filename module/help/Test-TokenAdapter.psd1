@{
    Synopsis    = 'Checks an adapter against its base model and returns one object per guarantee: PEFT layout, finite rows, fit to the model, merge changes only the listed rows, eval loss.'
    Description = @(
        'Test-TokenAdapter returns AdapterCheck objects (Name, Outcome, Passed, Detail, Adapter, Model, and ChangedRows, Value and Reference where they apply), in this order: PeftLayout (adapter_config.json is a Trainable Tokens config, adapter_model.safetensors has {"format": "pt"} metadata and only float [k, hidden] tensors under PEFT''s keys, base_model.model.<module>.trainable_tokens_delta); RowsFinite (no NaN or infinity, naming the rows that have them); MatchesModel (token ids inside the model''s vocabulary, rows of its hidden size, target modules it has); OnlyListedRowsChange (the adapter is merged into a temporary copy of the model, every tensor is compared with the base row by row and every other file byte by byte, and only rows of the adapter''s token ids may differ; the copy is deleted); for a LoRA adapter (peft_type LORA) the same checks read PEFT''s LoRA layout (lora_A/lora_B pairs, token_adapter rows, saved modules), check every value, fit the pairs to the checkpoint''s projections, and in OnlyListedRowsChange let only the targeted projections and saved modules change whole and the embedding only at its trainable_token_indices, saying which; and with -Dataset, EvalLossLower (eval loss with the adapter lower than without, as Measure-TokenModel -Compare measures it) and, with -MaxEvalLoss, EvalLossUnderMax.'
        'A check that cannot run because an earlier one failed (an adapter for another model cannot be merged) has Outcome Skipped, never Passed. A check failing is output, not an error, so a pipeline or runbook can decide: Where-Object { -not $_.Passed }. Errors are for what makes checking impossible: a model folder that is not a model, no -Model and no local base_model_name_or_path, a missing dataset.'
        'With -MergedModel it checks a merged model folder (Merge-TokenAdapter''s output) against -Model instead: one OnlyListedRowsChange check, with every changed row in ChangedRows and, given -TokenIndex, a failure for any row outside those ids.'
        'When the module and Pester 5 are both loaded, the Should operators -ChangeOnlyTokens, -PredictToken and -LowerLossThan are registered (in either import order); see about_TrainableTokens and examples/acceptance.'
    )
    Parameters  = @{
        Model        = 'The base model folder. Left out, for an adapter it is adapter_config.json''s base_model_name_or_path when that is a local model folder; otherwise the error asks for -Model. Required with -MergedModel.'
        Adapter      = 'One or more adapter folders to check. Accepts pipeline input: paths, Get-TokenAdapter results (Path) and Start-TokenTraining results (AdapterFolder).'
        MergedModel  = 'A merged model folder to compare with -Model row by row.'
        TokenIndex   = 'With -MergedModel: the token ids whose rows may differ. Left out, the check passes and reports every changed row in ChangedRows.'
        Dataset      = 'A dataset (as for training) for the eval-loss checks: the loss with the adapter against the base model''s.'
        MaxEvalLoss  = 'The highest eval loss with the adapter that passes EvalLossUnderMax. Needs -Dataset.'
        Device       = 'Where the eval-loss checks run: cpu (default), cuda or cuda:N.'
        Dtype        = 'The dtype the model is loaded in for the eval-loss checks: float32 (default), bfloat16 or float16.'
        BatchSize    = 'Examples per forward pass in the eval-loss checks (default 8).'
        MaxSeqLength = 'Examples of -Dataset are cut to this many tokens (give the run''s max_seq_length to get its eval loss). Left out: 512, or the model''s positions if fewer.'
    }
    Inputs      = @(
        @{ Type = 'System.String'; Description = 'Adapter folder paths, by value or by the AdapterFolder, Path or FullName property.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.Core.Scoring.AdapterCheck'; Description = 'Name, Outcome (Passed, Failed, Skipped), Passed, Detail, Adapter, Model, ChangedRows (OnlyListedRowsChange), Value and Reference (the eval-loss checks).' }
    )
    Examples    = @(
        @{
            Title   = 'Check the quickstart''s adapter'
            Code    = 'Test-TokenAdapter -Adapter ./examples/adapters/quickstart -Dataset ./examples/data/quickstart.jsonl -MaxSeqLength 64 -MaxEvalLoss 16'
            Remarks = 'The quickstart adapter shipped in examples/adapters; the model comes from its base_model_name_or_path. Six checks, each with what it found.'
        }
        @{
            Title   = 'Fail a pipeline when any check fails'
            Code    = @'
$failed = Test-TokenAdapter ./examples/models/tiny-llama3 ./examples/adapters/quickstart | Where-Object { -not $_.Passed }
if ($failed) { $failed | Format-List Name, Detail; throw "$(@($failed).Count) adapter check(s) failed" }
'@
            Remarks = 'Checks are objects, so a CI step or runbook decides what fails it.'
        }
        @{
            Title   = 'Check a merged model folder'
            Code    = @'
Merge-TokenAdapter ./examples/models/tiny-llama3 ./examples/adapters/quickstart -OutputPath ./out/quickstart-merged -Force | Out-Null
Test-TokenAdapter -Model ./examples/models/tiny-llama3 -MergedModel ./out/quickstart-merged -TokenIndex 10002, 10003
'@
            Remarks = 'Passes when only the rows of tokens 10002 and 10003 differ from the base model; ChangedRows lists the rows that do.'
        }
    )
    Notes       = 'OnlyListedRowsChange writes a merged copy of the model to the temporary folder and deletes it: it needs free space for one copy of the model.'
    Links       = @('Measure-TokenModel', 'Merge-TokenAdapter', 'Get-TokenAdapter', 'about_TrainableTokens')
}
