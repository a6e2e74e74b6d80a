@{
    Synopsis    = 'Adds tokens to a model''s tokenizer, grows the embedding to match, and returns each token with its new id.'
    Description = @(
        'Add-TokenizerToken adds tokens (for example <think> and </think>) as transformers'' tokenizer.add_tokens does: each new token gets the next free id (len(tokenizer), then one more per token), is matched whole in text and, unless -Special, is normalized like the text around it. A token already in the vocabulary is not added: the cmdlet says so in a warning and returns its existing id with Added = False.'
        'For a model folder (config.json with safetensors weights) the input embedding, and an LM head with rows of its own, grow to cover the new ids (rounded up to -PadToMultipleOf), as resize_token_embeddings does. Existing rows are copied bit for bit; new rows start from -InitFrom: Mean (the mean of the existing trained rows, Hugging Face''s default, leaving out untrained rows as Find-UntrainedToken finds them: zero, near-zero or duplicated rows would bias it), Text (the mean of the rows of -InitText''s tokens), Copy (the row of -InitToken) or Random (normal with the model''s initializer_range, seeded by -Seed). config.json gets the new vocab_size. Weights are rewritten tensor by tensor in the same layout (one file or the same shards), so memory holds one tensor at a time.'
        'The result is written to -OutputPath atomically: the folder appears complete or not at all. Every other file of the folder (generation_config.json and so on) is copied unchanged. For a folder with only tokenizer files, only the tokenizer changes. Hugging Face''s AutoTokenizer and AutoModelForCausalLM load the output folder unchanged.'
    )
    Parameters  = @{
        Model           = 'The model folder (config.json, model.safetensors or a sharded checkpoint, tokenizer.json) or a tokenizer-only folder. Binds a piped object''s Path (New-TinyModel) or FullName (a folder).'
        Token           = 'The token(s) to add, in order; their ids follow in the same order.'
        OutputPath      = 'The folder to write (missing parents are created). It must not be, contain or lie inside -Model. An existing folder is replaced only with -Force, and only if Add-TokenizerToken wrote it (it holds the hidden marker .trainable-tokens-output.json) or it is empty; the new one replaces it in one step once complete.'
        Special         = 'Add the tokens as special tokens: never split or normalized, left out by decoding with skip_special_tokens.'
        InitFrom        = 'How new embedding rows start: Mean (default), Text, Copy or Random. Rows past the new tokens (padding) use the mean (or random values with Random).'
        InitText        = 'With -InitFrom Text: one text for all new tokens or one per token; each new row is the mean of the rows of its text''s tokens, e.g. "begin reasoning" for <think>.'
        InitToken       = 'With -InitFrom Copy: one existing token for all new tokens or one per token; each new row is a copy of that token''s row. Give a vocabulary entry or a text that is one token.'
        PadToMultipleOf = 'Round the new vocabulary size up to a multiple of this number (for example 64), as resize_token_embeddings(pad_to_multiple_of=...).'
        Seed            = 'The seed of -InitFrom Random (default 0).'
        Force           = 'Replace -OutputPath if it exists and Add-TokenizerToken wrote it. A folder or file it did not write is never replaced.'
    }
    Inputs      = @(
        @{ Type = 'TrainableTokens.TinyModel'; Description = 'New-TinyModel''s output, or a folder: its Path or FullName binds to -Model.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.AddedToken'; Description = 'One per requested token: Token, Id, Special, Added, Model (the output folder), TokenizerSize and VocabSize (null for a tokenizer-only folder).' }
    )
    Examples    = @(
        @{
            Title   = 'Add reasoning tokens, starting from the meaning of words'
            Code    = "Add-TokenizerToken -Model ./examples/models/tiny-llama3 -Token '<think>', '</think>' -Special -InitFrom Text -InitText 'begin reasoning', 'end reasoning' -OutputPath ./out/tiny-llama3-think"
            Remarks = 'Returns <think> and </think> with their new ids (10256 and 10257); ./out/tiny-llama3-think has the grown embedding and the new tokenizer.'
        }
        @{
            Title   = 'Special tokens, vocabulary padded to a multiple of 64'
            Code    = "Add-TokenizerToken ./examples/models/tiny-llama3 '<|tool|>' -Special -PadToMultipleOf 64 -OutputPath ./out/tiny-llama3-tool -Force"
            Remarks = 'Rows between the new token and the padded size start as the mean.'
        }
        @{
            Title   = 'Ids ready for a Trainable Tokens config'
            Code    = "`$ids = (Add-TokenizerToken ./examples/models/tiny-llama3 '<think>', '</think>' -Special -OutputPath ./out/tiny-llama3-think -Force).Id"
            Remarks = 'These are the token_indices to train.'
        }
        @{
            Title   = 'Add, train and merge in one pipeline'
            Code    = @'
Add-TokenizerToken ./examples/models/tiny-llama3 '<think>', '</think>' -Special -OutputPath ./out/think-model |
    New-TrainableTokensConfig -Dataset ./examples/data/quickstart.jsonl -OutputDir ./out/think-adapter -MaxSteps 20 -MaxSeqLength 64 |
    Start-TokenTraining |
    Merge-TokenAdapter -OutputPath ./out/think-merged
'@
            Remarks = 'Each token''s Id binds to -TokenIndex and its Model (the folder written) to -BaseModel; the training result''s AdapterFolder binds to -Adapter, and Merge-TokenAdapter takes the model from the adapter''s base_model_name_or_path.'
        }
    )
    Notes       = 'As in transformers, a token added without -Special is normalized: with SentencePiece-style tokenizers whose normalizer prepends ''▁'' (Llama 2, Mistral) it then matches only after a space (as ''▁<think>''). Add tokens that must match anywhere, such as markup like <think>, with -Special. Hugging Face''s mean initialisation also adds noise at 1e-9 of the rows'' covariance; this module uses the exact mean, so runs are reproducible. PyTorch pickle weights (*.bin) in the folder are not copied, since they would no longer match.'
    Links       = @('ConvertTo-TokenId', 'ConvertFrom-TokenId', 'about_TrainableTokens')
}
