@{
    Synopsis    = 'Turns text into the token ids of a model''s tokenizer, exactly as Hugging Face gives them.'
    Description = @(
        'ConvertTo-TokenId loads tokenizer.json (and tokenizer_config.json) from a model folder, or from a folder that holds only the tokenizer files, and returns for each text its ids, the vocabulary entry of each id and the count. The ids are those of Hugging Face''s tokenizer(text).input_ids: the module runs Hugging Face''s own Rust tokenizers library, so byte-level BPE (Llama 3, Qwen2/3, GPT-2) and SentencePiece-style tokenizers (Llama 2, Mistral, Gemma) give identical ids, added and special tokens included.'
        'By default the special tokens of the tokenizer''s post-processor are added, as transformers does (for example <s> for Llama 2, <bos> for Gemma, nothing for Qwen). Use -NoSpecialTokens for add_special_tokens=False, which is what you want when looking up the id of one token.'
    )
    Parameters  = @{
        Model           = 'The model folder or tokenizer folder: it must hold tokenizer.json; tokenizer_config.json is read when present.'
        Text            = 'The text(s) to tokenise. Accepts pipeline input, one output object per string.'
        NoSpecialTokens = 'Do not add the post-processor''s special tokens (add_special_tokens=False): the ids of the text alone.'
    }
    Inputs      = @(
        @{ Type = 'System.String'; Description = 'Texts to tokenise.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.TokenIds'; Description = 'Text, Ids (int[]), Tokens (the vocabulary entry of each id, e.g. Ġworld or ▁world) and Count.' }
    )
    Examples    = @(
        @{
            Title   = 'Find the id of a token'
            Code    = "(ConvertTo-TokenId ./examples/models/tiny-llama3 '<|reserved_special_token_0|>' -NoSpecialTokens).Ids"
            Remarks = 'The first thing to do before training a token''s row: find its index (10002 here). A text that is not one token shows several ids.'
        }
        @{
            Title   = 'Tokenise several texts from the pipeline'
            Code    = "'Hello world', 'naïve café 🤗' | ConvertTo-TokenId ./examples/models/tiny-llama3 | Format-Table Count, Ids, Tokens"
            Remarks = 'One object per text.'
        }
        @{
            Title   = 'Round trip'
            Code    = "ConvertTo-TokenId ./examples/models/tiny-llama3 'Hello world' | ConvertFrom-TokenId ./examples/models/tiny-llama3"
            Remarks = 'ConvertFrom-TokenId takes the Ids property from the pipeline.'
        }
        @{
            Title   = 'Run the model over a text'
            Code    = @'
New-Item -ItemType Directory -Force ./out | Out-Null
ConvertTo-TokenId ./examples/models/tiny-llama3 'Hello world' | Invoke-TokenModel -Model ./examples/models/tiny-llama3 -OutFile ./out/hello.safetensors
'@
            Remarks = 'The Ids property binds to Invoke-TokenModel''s -InputId.'
        }
    )
    Notes       = 'The tokenizer folder needs tokenizer.json (the "fast" tokenizer format every current model ships). A folder with only tokenizer.model or vocab.json + merges.txt must be converted first: in Python, AutoTokenizer.from_pretrained(folder).save_pretrained(folder).'
    Links       = @('ConvertFrom-TokenId', 'Add-TokenizerToken', 'Measure-TokenDataset', 'about_TrainableTokens')
}
