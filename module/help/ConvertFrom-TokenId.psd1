@{
    Synopsis    = 'Turns token ids back into text, exactly as Hugging Face''s tokenizer.decode does.'
    Description = @(
        'ConvertFrom-TokenId loads the tokenizer of a model or tokenizer folder and decodes ids as transformers'' tokenizer.decode(ids) does: special tokens are kept unless -SkipSpecialTokens is given, and the tokenizer_config.json setting clean_up_tokenization_spaces is honoured. It also lists the vocabulary entry of every id, which shows how a text was split.'
        'Each pipeline object is one sequence: pipe the output of ConvertTo-TokenId (its Ids property binds to -Id), or give -Id 1, 2, 3. Bare numbers piped in are decoded one at a time, which shows the token of each id.'
    )
    Parameters  = @{
        Model             = 'The model folder or tokenizer folder: it must hold tokenizer.json; tokenizer_config.json is read when present.'
        Id                = 'The ids of one sequence. Binds the Ids property of piped objects; an id outside the vocabulary is an error naming the valid range.'
        SkipSpecialTokens = 'Leave special tokens (such as <s>, <|eot_id|>) out of the text, as skip_special_tokens=True.'
    }
    Inputs      = @(
        @{ Type = 'System.Int32[]'; Description = 'Ids, or objects with an Ids property such as ConvertTo-TokenId''s output.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.DecodedText'; Description = 'Ids, Text and Tokens (the vocabulary entry of each id).' }
    )
    Examples    = @(
        @{
            Title   = 'Decode a sequence'
            Code    = 'ConvertFrom-TokenId ./examples/models/tiny-llama3 -Id 9906, 1917'
            Remarks = 'Returns the text (Hello world) and the tokens (Hello, Ġworld).'
        }
        @{
            Title   = 'Which token is id 10002?'
            Code    = '10002, 10003 | ConvertFrom-TokenId ./examples/models/tiny-llama3 | Format-Table Ids, Tokens, Text'
            Remarks = 'Bare ids piped in are decoded one by one.'
        }
    )
    Links       = @('ConvertTo-TokenId', 'Add-TokenizerToken', 'about_TrainableTokens')
}
