@{
    Synopsis    = 'Lists the tokens of a model folder whose embedding row (or untied LM head row) looks untrained: all zero, near zero or duplicated.'
    Description = @(
        'Find-UntrainedToken reads the input embedding of a Hugging Face model folder, and its LM head when the model has one of its own (tie_word_embeddings false), in chunks of rows straight from the safetensors files (one file or shards): memory stays small whatever the vocabulary, and the model is not loaded.'
        'A row counts as untrained when it is all zero; when at least 3 non-zero rows have bit-identical values (Llama 3''s reserved special tokens share one row: two tokens that learnt from different text never do, and a single deliberate copy is not counted); or when its L2 norm is below 1/1000 of the median norm of the other rows (rows that never got a gradient shrink under weight decay by many orders of magnitude). The rule is relative to the median, so it holds for any model''s scale.'
        'One object per untrained token: Id, Token (its text from tokenizer.json, when the folder has one), EmbeddingNorm, HeadNorm (null when the head is tied to the embedding) and Reason (which rows and why, e.g. "embedding duplicate (254 identical rows); head zero"). Nothing is written for a model without untrained rows; -Verbose gives the median norms.'
        'Train such tokens before relying on them (add their ids to token_indices): Start-TokenTraining starts an untrained trainable row from the mean of the trained rows, and Test-TrainableTokensConfig warns when the data uses untrained tokens the run does not train.'
    )
    Parameters  = @{
        Model = 'One or more model folders (config.json with model.safetensors or model.safetensors.index.json). Accepts pipeline input: strings, folders from Get-ChildItem -Directory, and objects by their Path, FullName or OutputPath property (Merge-TokenAdapter''s result).'
    }
    Inputs      = @(
        @{ Type = 'System.String'; Description = 'Model folder paths, by value or by the FullName property.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.UntrainedToken'; Description = 'Id, Token, EmbeddingNorm, HeadNorm, Reason, and EmbeddingReason / HeadReason (Zero, Duplicate, NearZero, or null).' }
    )
    Examples    = @(
        @{
            Title   = 'List the untrained tokens of a model'
            Code    = 'Find-UntrainedToken -Model ./examples/models/tiny-llama3'
            Remarks = 'The tiny model''s rows are all random, so it lists none; for Llama 3 base it lists the reserved special tokens, whose rows are copies of one another.'
        }
        @{
            Title   = 'Train the untrained tokens'
            Code    = @'
$ids = @(Find-UntrainedToken ./examples/models/tiny-llama3).Id
if ($ids) { New-TrainableTokensConfig -TokenIndex $ids -BaseModel ./examples/models/tiny-llama3 -Dataset ./examples/data/quickstart.jsonl -OutputDir ./out/adapter -Path ./out/run.yaml }
else { 'No untrained rows: nothing to train.' }
'@
            Remarks = 'Objects on the pipeline: their ids go straight into a run file.'
        }
        @{
            Title   = 'Only rows that are exactly zero'
            Code    = 'Find-UntrainedToken ./examples/models/tiny-llama3 | Where-Object EmbeddingReason -EQ Zero | Select-Object Id, Token'
            Remarks = 'EmbeddingReason and HeadReason give the rule that matched for each matrix.'
        }
        @{
            Title   = 'Check a merged model'
            Code    = 'Merge-TokenAdapter -Adapter ./examples/adapters/quickstart -OutputPath ./out/merged | Find-UntrainedToken'
            Remarks = 'The merge result''s OutputPath binds to -Model.'
        }
    )
    Notes       = 'Reads the embedding (and head) twice at most, never the rest of the model. A pickle-only folder is refused with a message that says how to convert it.'
    Links       = @('Add-TokenizerToken', 'Test-TrainableTokensConfig', 'Start-TokenTraining', 'about_TrainableTokens')
}
