@{
    Synopsis    = 'Reads and tokenises training data as training will, and reports what it gives.'
    Description = @(
        'Measure-TokenDataset reads a dataset and tokenises it with a model''s tokenizer exactly as training does, so problems show before a run: JSON Lines (.jsonl) with {"text": ...}, {"prompt": ..., "completion": ...} (loss on the completion only) or {"messages": [{"role": ..., "content": ...}]} (rendered with the tokenizer''s chat template), a JSON array of such records (.json), or plain text (any other extension: one record per non-blank line). Strings and objects with those properties can also be piped in.'
        'Text and prompt/completion records get the tokenizer''s special tokens and an eos token; conversations are rendered with the chat template when it is one of the shapes the module renders itself (plain ChatML, Qwen3, Llama 3, Gemma) and refused with a clear error otherwise. Sequences longer than -MaxLength are cut, or with -Packing all examples are concatenated and cut into sequences of -MaxLength.'
        'A malformed line is an error naming the file and line; a dataset that tokenises to nothing is an error.'
    )
    Parameters  = @{
        Model       = 'The model folder or tokenizer folder whose tokenizer.json (and tokenizer_config.json, for the chat template) is used.'
        Path        = 'The dataset file: .jsonl, .json or plain text.'
        InputObject = 'Records from the pipeline: strings (text records) or objects/hashtables with text, prompt and completion, or messages.'
        MaxLength   = 'The longest training sequence in tokens (default 512).'
        Packing     = 'Concatenate all examples and cut them into sequences of -MaxLength instead of cutting each example.'
    }
    Inputs      = @(
        @{ Type = 'System.Object'; Description = 'Strings or objects with text, prompt/completion or messages properties.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.DatasetSummary'; Description = 'Records, Sequences, Tokens, LabelledTokens, Truncated, EmptyRecords, Formats, ChatTemplate, MaxLength, Packing, PadTokenId and the first sequence''s ids and labels (-100 where no loss applies).' }
    )
    Examples    = @(
        @{
            Title   = 'Check a chat dataset'
            Code    = 'Measure-TokenDataset ./examples/models/tiny-llama3 ./examples/data/quickstart.jsonl -MaxLength 64'
            Remarks = 'Reports how many tokens carry a loss and how many conversations were cut.'
        }
        @{
            Title   = 'Data from the pipeline'
            Code    = "@{ prompt = 'Q: 2+2? A:'; completion = ' 4' }, 'plain text works too' | Measure-TokenDataset ./examples/models/tiny-llama3"
            Remarks = 'Hashtables and objects with the record''s properties, and plain strings.'
        }
    )
    Links       = @('ConvertTo-TokenId', 'Add-TokenizerToken', 'about_TrainableTokens')
}
