@{
    Synopsis    = 'Checks a TrainableTokens run file (or config object) before training, as Start-TokenTraining would, and returns every problem with its line and column.'
    Description = @(
        'Test-TrainableTokensConfig reads a run file and reports every problem at once, not the first only: unknown keys (with a "did you mean" suggestion), values of the wrong type (with the type expected), values outside their limits, and YAML syntax errors. Each finding is an object with Severity (Error or Warning), Field (as written in the file, such as training.learning_rate or trainable_tokens.token_indices[1]), Line, Column and a Message that says how to fix it. A good file gives no output.'
        'When the file names a model (training.base_model) or -Model is given, the file is also checked against that model (its headers, and the embedding rows for untrained tokens): token ids below the vocabulary size and target modules that exist and are the input embedding and/or the LM head (target_modules [embed_tokens, lm_head] trains an untied head''s rows too; lm_head alone on a tied model is refused, since its merged rows would replace the embedding''s). The device and dtype, the dataset (exists, readable, JSON Lines with text, prompt/completion or messages on every line) and the output folder (writable, not replaced silently) are checked too. -Verbose lists checks that could not run.'
        'A run file with a lora section (a LoRA adapter: New-TrainableTokensConfig -Method Lora) is checked the same way, against config.json alone: the projections target_modules selects (targets that match nothing are an error listing the projections that exist), ranks above a layer''s size and rank_pattern keys that match no target (warnings), trainable_token_indices below the vocabulary size and naming the input embedding or the LM head, and PEFT''s rules for tied weights (different ids for a tied embedding and head with ensure_weight_tying is an error; ensure_weight_tying on an untied model a warning). A run file needs exactly one of trainable_tokens and lora.'
        'Test-TrainableTokensConfig reports everything Start-TokenTraining with the same parameters would refuse or warn about: it runs the same checks, the dataset tokenised with the model''s tokenizer and the checkpoint to resume from included. The one difference: a setting the run still lacks (base_model, dataset, output_dir), which may be given when training starts, is a warning here and an error at Start-TokenTraining.'
    )
    Parameters  = @{
        Path           = 'The run file (YAML) to check. Accepts pipeline input, such as the file New-TrainableTokensConfig -Path writes or Get-ChildItem output.'
        Config         = 'A run config object from New-TrainableTokensConfig (without -Path) to check, by value from the pipeline. A file or path piped in is taken as a run file.'
        Model          = 'A Hugging Face model folder to check against, instead of the run''s training.base_model.'
        Dataset        = 'A dataset file (JSON Lines, or text) to use instead of the run''s training.dataset.'
        OutputPath     = 'The output folder to use instead of the run''s training.output_dir (alias OutputDir).'
        MaxSteps       = 'Optimizer steps to train, instead of the run''s training.max_steps.'
        NumTrainEpochs = 'Passes over the data, instead of the run''s training.num_train_epochs. Given alone, it also clears the run''s max_steps, which would otherwise win.'
        LearningRate   = 'The peak learning rate, instead of the run''s training.learning_rate.'
        BatchSize      = 'Examples per forward pass, instead of the run''s training.per_device_train_batch_size (alias PerDeviceTrainBatchSize).'
        Device         = 'cpu, cuda or cuda:N, instead of the run''s training.device.'
        Dtype          = 'float32, bfloat16 or float16, instead of the run''s training.dtype.'
        Seed           = 'The random seed, instead of the run''s training.seed.'
        Resume         = 'latest (the newest complete checkpoint-N in the output folder) or a checkpoint folder to continue from, instead of the run''s training.resume_from_checkpoint.'
        Force          = 'Check as Start-TokenTraining -Force would run: an output folder holding an earlier run is then not a problem.'
    }
    Inputs      = @(
        @{ Type = 'System.String'; Description = 'Paths of run files, by value or by the FullName property.' }
        @{ Type = 'TrainableTokens.RunConfig'; Description = 'A run config from New-TrainableTokensConfig, checked as -Config.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.ConfigFinding'; Description = 'One per problem: Severity, Field, Line, Column, Message and Source (the file). Nothing when the file is good.' }
    )
    Examples    = @(
        @{
            Title   = 'Check a run file'
            Code    = 'Test-TrainableTokensConfig ./examples/quickstart.run.yaml'
            Remarks = 'Lists every problem with its line and column; no output means the file is good.'
        }
        @{
            Title   = 'Check against another model'
            Code    = 'Test-TrainableTokensConfig ./examples/quickstart.run.yaml -Model ./examples/models/tiny-llama'
            Remarks = 'Also reports token ids at or past the vocabulary size (the tiny Llama has 128 rows, so 10002 and 10003 are errors) and target modules the model does not have.'
        }
        @{
            Title   = 'Stop a pipeline on errors'
            Code    = 'if (Test-TrainableTokensConfig ./examples/quickstart.run.yaml | Where-Object Severity -EQ Error) { throw ''Fix quickstart.run.yaml first.'' }'
            Remarks = 'Warnings (for example float16 on the CPU) do not stop it.'
        }
        @{
            Title   = 'Check a config object before training it'
            Code    = 'New-TrainableTokensConfig -TokenIndex 10002, 10003 -MaxSeqLength 64 | Test-TrainableTokensConfig -Model ./examples/models/tiny-llama3 -Dataset ./examples/data/quickstart.jsonl'
            Remarks = 'A config object piped in is checked as Start-TokenTraining would check it.'
        }
    )
    Notes       = 'Relative paths in a run file are relative to the file''s folder.'
    Links       = @('New-TrainableTokensConfig', 'about_TrainableTokens')
}
