@{
    Synopsis    = 'Scores a model, with or without adapters: the loss and perplexity of a dataset, the log-probability of each token of a text, or the probability of a token after a prompt.'
    Description = @(
        'With -Dataset, Measure-TokenModel reads and tokenises the dataset exactly as Start-TokenTraining does (JSON Lines with text, prompt/completion or chat messages rendered with the tokenizer''s chat template; prompts carry no loss; examples cut to -MaxSeqLength) and returns the mean next-token cross-entropy over every labelled token (Loss), exp(Loss) (Perplexity) and how many tokens were scored. It is computed by the trainer''s own code, so for the same data and max_seq_length it equals the eval_loss Start-TokenTraining reports. With -Compare the same loaded model scores the dataset twice, without the adapters (the base model exactly) and with them, and returns both with LossChange, PerplexityRatio and Improved.'
        'With -Text it returns the log-probability, probability and rank of each token of the text after the tokens before it (the text is tokenised with the tokenizer''s special tokens, as a dataset text is; the first token has nothing before it and is not scored). The log-probabilities sum to minus the summed loss; Loss is their negated mean.'
        'With -After and -Token it returns, for each token, its log-probability and probability right after the prompt, its Rank among the whole vocabulary (1 is what greedy decoding picks next; IsTop says so) and the -Top most likely next tokens.'
        'Adapters (-Adapter, one or more, with disjoint token ids) are checked against the model before it is loaded: token ids inside the vocabulary, rows of the model''s hidden size, target modules the model has. An adapter for another model is an error naming what does not fit. A text or prompt longer than the model''s positions (max_position_embeddings), a -MaxSeqLength past them, and a missing or malformed dataset are errors before any compute.'
    )
    Parameters  = @{
        Model        = 'The Hugging Face model folder. Left out, the first adapter''s base_model_name_or_path is used when it is a local model folder (a hub id is never downloaded). Binds from the BaseModelNameOrPath property of piped Get-TokenAdapter results.'
        Dataset      = 'A dataset file (JSON Lines, JSON or text, as for training) whose loss and perplexity to measure.'
        Text         = 'A text whose tokens to score one by one.'
        After        = 'The prompt after which the probability of each -Token is measured.'
        Token        = 'One or more tokens, each exactly one token of the model''s tokenizer (such as ''<think>'' or ''<|reserved_special_token_0|>''), to score right after -After.'
        Top          = 'How many of the most likely next tokens to list in Top (1 to 100; default 5).'
        Adapter      = 'One or more adapter folders (PEFT format: Trainable Tokens or LoRA, by their peft_type) active while scoring. Accepts pipeline input: paths, Get-TokenAdapter results (Path) and Start-TokenTraining results (AdapterFolder).'
        Compare      = 'Score the dataset without and with the adapters and return one comparison object (Base, Adapted, BaseLoss, AdaptedLoss, LossChange, PerplexityRatio, Improved). Needs -Adapter.'
        Device       = 'cpu (default), cuda or cuda:N.'
        Dtype        = 'The dtype the model is loaded in: float32 (default), bfloat16 or float16. The loss is computed in float32 either way, as in training.'
        BatchSize    = 'Examples per forward pass for -Dataset (default 8, like per_device_eval_batch_size). The loss does not depend on it beyond float rounding.'
        MaxSeqLength = 'Examples of -Dataset are cut to this many tokens, as training''s max_seq_length; give the run''s value to reproduce its eval loss. Left out: 512, or the model''s positions if fewer. More than the model''s positions is an error.'
    }
    Inputs      = @(
        @{ Type = 'System.String'; Description = 'Adapter folder paths, by value or by the AdapterFolder, Path or FullName property; the model by the BaseModelNameOrPath property.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.Core.Scoring.DatasetScore'; Description = 'With -Dataset: Model, Adapters, Dataset, Sequences, ScoredTokens, Loss, Perplexity, MaxSeqLength, BatchSize.' }
        @{ Type = 'TrainableTokens.Core.Scoring.DatasetScoreComparison'; Description = 'With -Dataset -Compare: Base and Adapted scores, BaseLoss, AdaptedLoss, LossChange, PerplexityRatio, Improved.' }
        @{ Type = 'TrainableTokens.Core.Scoring.TextScore'; Description = 'With -Text: InputIds, Tokens (Position, Id, Token, LogProbability, Probability, Rank), SumLogProbability, Loss, Perplexity.' }
        @{ Type = 'TrainableTokens.Core.Scoring.NextTokenScore'; Description = 'With -After: one per -Token: TokenId, LogProbability, Probability, Rank, IsTop and Top (the most likely next tokens).' }
    )
    Examples    = @(
        @{
            Title   = 'The loss and perplexity of a dataset on the base model'
            Code    = 'Measure-TokenModel -Model ./examples/models/tiny-llama3 -Dataset ./examples/data/quickstart.jsonl -MaxSeqLength 64'
            Remarks = 'The same number Start-TokenTraining reports as the eval loss before training, for this data and max_seq_length.'
        }
        @{
            Title   = 'What an adapter does to the loss'
            Code    = 'Measure-TokenModel -Adapter ./examples/adapters/quickstart -Dataset ./examples/data/quickstart.jsonl -MaxSeqLength 64 -Compare | Format-List BaseLoss, AdaptedLoss, LossChange, Improved'
            Remarks = 'The quickstart adapter shipped in examples/adapters (what Start-TokenTraining -Path ./examples/quickstart.run.yaml writes); its base model comes from its adapter_config.json. One model load, two scores.'
        }
        @{
            Title   = 'The probability of a new token after a prompt, with and without the adapter'
            Code    = @'
$prompt = 'What does <|reserved_special_token_0|> start?'
Measure-TokenModel ./examples/models/tiny-llama3 -After $prompt -Token '<|reserved_special_token_1|>'
Measure-TokenModel ./examples/models/tiny-llama3 -Adapter ./examples/adapters/quickstart -After $prompt -Token '<|reserved_special_token_1|>' | Select-Object Token, Probability, Rank, Top
'@
            Remarks = 'Rank 1 means greedy decoding would write the token next; Top lists the most likely tokens there.'
        }
        @{
            Title   = 'The log-probability of each token of a text'
            Code    = '(Measure-TokenModel ./examples/models/tiny-llama3 -Text ''The tiny model learns.'').Tokens | Format-Table Position, Id, Token, LogProbability, Rank'
            Remarks = 'The least likely tokens are where the model is surprised; the sum of LogProbability is minus the summed loss.'
        }
    )
    Notes       = 'The scores are deterministic for a given model, adapter, device and dtype. Perplexity is exp(Loss) in nats.'
    Links       = @('Test-TokenAdapter', 'Start-TokenTraining', 'about_TrainableTokens')
}
