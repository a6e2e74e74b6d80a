@{
    Synopsis    = 'Makes a TrainableTokens run config from parameters, checks it, and returns it or writes it as a YAML run file.'
    Description = @(
        'New-TrainableTokensConfig builds a run config: the trainable_tokens section (which rows of the embedding matrix to train, with PEFT''s field names) and the training section (model, data, output folder and optimisation settings). Parameters you leave out take the schema''s defaults. The parameters are the run file''s settings in PascalCase: -LearningRate is learning_rate, -PerDeviceTrainBatchSize is per_device_train_batch_size.'
        'With -Method Lora it writes a lora section instead: a LoRA adapter (PEFT''s LoraConfig) on the projections -TargetModule names, with -Rank (r), -Alpha (lora_alpha), -Dropout (lora_dropout) and PEFT''s other LoRA fields; -TokenIndex (or -Token) then lists token rows trained beside the LoRA pairs (trainable_token_indices), and -TokenIndexByModule maps modules to rows. The training parameters are the same for both methods, which is why both are one cmdlet. LoRA parameters without -Method Lora are an error (LoraParameterWithoutLora).'
        'The config is checked against the schema before anything is returned or written; every problem is reported at once as an error that names the parameter, and nothing is written. With -Path the config is written as YAML, starting with a yaml-language-server line that points at the module''s JSON Schema, so editors check and complete the file; relative paths are rewritten to be relative to the file''s folder, which is how run files resolve them. An existing file is replaced only with -Force; -WhatIf shows what would be written.'
    )
    Parameters  = @{
        TokenIndex                = 'The ids of the tokens whose embedding rows are trained (trainable_tokens.token_indices; with -Method Lora, lora.trainable_token_indices, optional), for example the ids of newly added tokens. Ids run from 0 to the vocabulary size minus 1. Give -TokenIndex, -Token, or both (the ids of -Token follow these). Piped objects add their Id (Add-TokenizerToken) or TokenIndices (Get-TokenAdapter) property; the config is made once, from all of them.'
        Token                     = 'The tokens to train, by their text (for example ''<think>'', ''</think>''): each is looked up in the tokenizer of -Model and must be exactly one token there (an added token, or a vocabulary entry). A string that is not is an error that names it and shows what it encodes to (error id NotOneToken, category InvalidArgument), and no config is returned or written. Needs -Model.'
        TargetModule              = 'With -Method Lora: the projections to adapt (lora.target_modules), such as q_proj, v_proj, or all-linear; one value with regex characters is a regular expression; left out, PEFT''s default q_proj and v_proj. Otherwise: the embedding modules to train rows of (trainable_tokens.target_modules), matched as suffixes of module paths, as PEFT does for a list. Leave it out for the model''s input embedding (model.embed_tokens, or transformer.wte for GPT-2). embed_tokens, lm_head trains an untied LM head''s rows too. For a regular expression, edit target_modules in the file.'
        IncludeOutputHead         = 'Train the same rows of the LM head too, so the model learns to predict the tokens as well as read them: target_modules becomes the input embedding and lm_head (PEFT''s [embed_tokens, lm_head]; with -TargetModule, lm_head is added to it). The embedding''s name comes from -Model''s config.json. Models with their own (untied) head need it for new tokens: without it they read a new token but never predict it. On a tied model (tie_word_embeddings: true) it is harmless and changes nothing: the head is the embedding matrix, so it follows the trained rows either way, and the adapter holds one set of rows (saved a second time under lm_head, as PEFT does).'
        Method                    = 'The method the run trains: TrainableTokens (default; the trainable_tokens section, token rows only) or Lora (the lora section: a LoRA adapter on the projections, optionally with token rows). Everything in the training section is the same for both.'
        Rank                      = 'lora.r (with -Method Lora): the rank of each LoRA pair, a whole number of at least 1 (default 8). Alias: -R.'
        Alpha                     = 'lora.lora_alpha (with -Method Lora): the update is scaled by alpha / r (alpha / sqrt(r) with -UseRslora); above 0 (default 8). Alias: -LoraAlpha.'
        Dropout                   = 'lora.lora_dropout (with -Method Lora): dropout on the input of each LoRA pair while training, from 0 (default) to below 1; evaluation never drops. Alias: -LoraDropout.'
        ExcludeModule             = 'lora.exclude_modules (with -Method Lora): modules not to adapt although -TargetModule selects them, matched as suffixes (one value with regex characters is a regular expression).'
        UseRslora                 = 'lora.use_rslora (with -Method Lora): rank-stabilised LoRA, scaling by alpha / sqrt(r).'
        Bias                      = 'lora.bias (with -Method Lora): none (default) is the only value this module trains; all and lora_only are refused with an error naming it.'
        InitLoraWeights           = 'lora.init_lora_weights (with -Method Lora): true (default: A kaiming-uniform, B zero, so the untrained adapter changes nothing), gaussian (A normal with std 1/r, B zero) or false (both random, for tests).'
        LayersToTransform         = 'lora.layers_to_transform (with -Method Lora): adapt only the layers with these indices; needs -TargetModule as names, not a regular expression.'
        LayersPattern             = 'lora.layers_pattern (with -Method Lora): the name of the module list -LayersToTransform counts in (such as layers).'
        RankPattern               = 'lora.rank_pattern (with -Method Lora): a hashtable of module name (or regular expression for its last parts) to rank, overriding -Rank, for example @{ v_proj = 16 }.'
        AlphaPattern              = 'lora.alpha_pattern (with -Method Lora): a hashtable of module name to alpha, overriding -Alpha, keyed as -RankPattern.'
        ModulesToSave             = 'lora.modules_to_save (with -Method Lora): modules PEFT trains in full beside the pairs. Not supported by this module''s trainer yet: any value is an error; list new tokens in -TokenIndex instead.'
        TokenIndexByModule        = 'lora.trainable_token_indices as a map (with -Method Lora): a hashtable of module name to token ids, for example @{ embed_tokens = 5, 6; lm_head = 5, 6 } to train an untied head''s rows too. The list form is -TokenIndex (the input embedding); -IncludeOutputHead writes this map for -TokenIndex with the embedding''s name from -Model.'
        EnsureWeightTying         = 'lora.ensure_weight_tying (with -Method Lora): on a tied model, keep the embedding''s and the head''s token rows tied (a map that gives them different ids is then an error); on an untied model it only warns.'
        InitWeights               = 'trainable_tokens.init_weights: $true (default) starts the trained rows as copies of the current rows; $false starts them as standard-normal random values.'
        BaseModel                 = 'training.base_model: the Hugging Face model folder to train on. May be left out and given when training starts. Alias: -Model. -Token and -IncludeOutputHead read its tokenizer and config.json. Binds a piped object''s Model property (Add-TokenizerToken''s output folder). An adapter''s base_model_name_or_path is not taken: it may be a hub name, or relative to another folder.'
        Dataset                   = 'training.dataset: a JSON Lines file, one example per line with "text", "prompt" and "completion", or "messages".'
        OutputDir                 = 'training.output_dir: the folder the adapter and checkpoints are written to.'
        OverwriteOutputDir        = 'training.overwrite_output_dir: allow output_dir to exist and hold files, which are then replaced.'
        LearningRate              = 'training.learning_rate: the peak AdamW learning rate (default 0.001).'
        WeightDecay               = 'training.weight_decay: AdamW''s decoupled weight decay (default 0).'
        LrSchedulerType           = 'training.lr_scheduler_type: linear (default), cosine, constant or constant_with_warmup.'
        WarmupSteps               = 'training.warmup_steps: optimiser steps of linear warm-up (default 0); wins over -WarmupRatio.'
        WarmupRatio               = 'training.warmup_ratio: warm-up as a fraction of all steps, used when -WarmupSteps is 0.'
        NumTrainEpochs            = 'training.num_train_epochs: passes over the data (default 3).'
        MaxSteps                  = 'training.max_steps: stop after this many optimiser steps, whatever -NumTrainEpochs says.'
        PerDeviceTrainBatchSize   = 'training.per_device_train_batch_size: examples per forward pass (default 8). Alias: -BatchSize.'
        GradientAccumulationSteps = 'training.gradient_accumulation_steps: forward passes per optimiser step (default 1).'
        MaxSeqLength              = 'training.max_seq_length: examples are cut to this many tokens (default 512).'
        GradientCheckpointing     = 'training.gradient_checkpointing: recompute each decoder layer in the backward pass, for the memory of one layer''s activations (about one more forward per step; the same adapter).'
        MaxGradNorm               = 'training.max_grad_norm: gradient clipping norm (default 1; 0 turns clipping off).'
        Seed                      = 'training.seed: the random seed (default 42).'
        Dtype                     = 'training.dtype: float32 (default), bfloat16 or float16.'
        Device                    = 'training.device: cpu (default), cuda or cuda:N (the CUDA build only).'
        EvalSplit                 = 'training.eval_split: the fraction of the data held out for evaluation (default 0).'
        EvalSteps                 = 'training.eval_steps: with eval_strategy steps, evaluate every this many steps (default: logging_steps).'
        EvalDataset               = 'training.eval_dataset: a file of evaluation examples, in the same formats as Dataset (instead of EvalSplit).'
        EvalStrategy              = 'training.eval_strategy: no, steps or epoch (default: steps when EvalSteps is given, else epoch when there is evaluation data).'
        PerDeviceEvalBatchSize    = 'training.per_device_eval_batch_size: examples per forward pass during evaluation (default 8).'
        LoadBestModelAtEnd        = 'training.load_best_model_at_end: write the best checkpoint''s adapter at the end; needs eval_strategy steps and save_steps a multiple of eval_steps.'
        MetricForBestModel        = 'training.metric_for_best_model: loss, eval_loss, perplexity or eval_perplexity (default: eval_loss with LoadBestModelAtEnd).'
        GreaterIsBetter           = 'training.greater_is_better: whether a larger metric is better (default: false for a loss, true otherwise, as Hugging Face).'
        EarlyStoppingPatience     = 'training.early_stopping_patience: stop after this many evaluations without improvement (needs LoadBestModelAtEnd).'
        EarlyStoppingThreshold    = 'training.early_stopping_threshold: the improvement that counts for EarlyStoppingPatience (default 0).'
        SaveSteps                 = 'training.save_steps: write a checkpoint every this many steps (default 500).'
        SaveTotalLimit            = 'training.save_total_limit: keep at most this many checkpoints (default: all).'
        ResumeFromCheckpoint      = 'training.resume_from_checkpoint: a checkpoint folder, or latest for the newest checkpoint in the output folder.'
        LoggingSteps              = 'training.logging_steps: report loss and learning rate every this many steps (default 10).'
        Path                      = 'Write the config to this YAML file instead of returning it. Missing folders are created.'
        Force                     = 'Replace -Path if it exists.'
    }
    Inputs      = @(
        @{ Type = 'TrainableTokens.AddedToken'; Description = 'Add-TokenizerToken''s output: each token''s Id adds to -TokenIndex, and Model binds to -BaseModel.' }
    )
    Outputs     = @(
        @{ Type = 'TrainableTokens.RunConfig'; Description = 'Without -Path: the config, with TrainableTokens and Training sections.' }
        @{ Type = 'System.IO.FileInfo'; Description = 'With -Path: the file written.' }
    )
    Examples    = @(
        @{
            Title   = 'Write a LoRA run file that also trains two new tokens'
            Code    = 'New-TrainableTokensConfig -Method Lora -Rank 8 -Alpha 16 -Dropout 0.05 -TargetModule q_proj, v_proj -TokenIndex 10002, 10003 -BaseModel ./examples/models/tiny-llama3 -Dataset ./examples/data/quickstart.jsonl -OutputDir ./out/lora -Path ./out/lora.run.yaml'
            Remarks = 'Writes a lora section (r 8, lora_alpha 16, target_modules [q_proj, v_proj], trainable_token_indices [10002, 10003]) with the training section; Start-TokenTraining ./out/lora.run.yaml trains it.'
        }
        @{
            Title   = 'Write a run file for two tokens'
            Code    = 'New-TrainableTokensConfig -TokenIndex 10002, 10003 -BaseModel ./examples/models/tiny-llama3 -Dataset ./examples/data/quickstart.jsonl -OutputDir ./out/adapter -Path ./out/run.yaml'
            Remarks = 'Writes ./out/run.yaml with every setting (paths relative to it); Test-TrainableTokensConfig ./out/run.yaml then checks it against the model.'
        }
        @{
            Title   = 'Name the tokens by their text'
            Code    = 'New-TrainableTokensConfig -Token ''<|reserved_special_token_0|>'', ''<|reserved_special_token_1|>'' -Model ./examples/models/tiny-llama3 -Dataset ./examples/data/quickstart.jsonl -OutputDir ./out/adapter -Path ./out/run.yaml -Force'
            Remarks = 'Looks up both strings in the model''s tokenizer and writes their ids as token_indices (and the folder as base_model). Add new tokens first with Add-TokenizerToken; a string that is not exactly one token, such as ''<thinking>'', is an error that names it and writes nothing.'
        }
        @{
            Title   = 'Train an untied model''s output head too'
            Code    = @'
New-TinyModel llama ./out/llama-untied -Tokenizer ./examples/models/tiny-llama3 -Untied | Out-Null
New-TrainableTokensConfig -Token '<|reserved_special_token_0|>' -Model ./out/llama-untied -IncludeOutputHead -Path ./out/untied.run.yaml
'@
            Remarks = 'Writes target_modules: [embed_tokens, lm_head], so the adapter trains the tokens'' rows of the embedding and of the LM head (saved as base_model.model.model.embed_tokens.trainable_tokens_delta and base_model.model.lm_head.trainable_tokens_delta, as PEFT does). Then the model can predict the new tokens, not only read them.'
        }
        @{
            Title   = 'See what would be written'
            Code    = 'New-TrainableTokensConfig -TokenIndex 120 -LearningRate 0.01 -NumTrainEpochs 1 -Path ./out/run.yaml -WhatIf'
            Remarks = 'Checks the settings and reports the file it would write, without writing it.'
        }
        @{
            Title   = 'A config object for a script'
            Code    = '$config = New-TrainableTokensConfig -TokenIndex 5, 6 -BatchSize 4; $config.Training.PerDeviceTrainBatchSize'
            Remarks = 'Without -Path the config object goes down the pipeline. Invalid values are errors that name the parameter, for example -LearningRate 0.'
        }
        @{
            Title   = 'The ids of tokens just added'
            Code    = @'
Add-TokenizerToken ./examples/models/tiny-llama3 '<think>', '</think>' -Special -OutputPath ./out/think-model |
    New-TrainableTokensConfig -Dataset ./examples/data/quickstart.jsonl -OutputDir ./out/think-adapter
'@
            Remarks = 'Piped objects'' Id (or TokenIndices) properties add to -TokenIndex, and a Model property binds to -BaseModel.'
        }
    )
    Notes       = 'The settings, their defaults and limits come from the module''s schemas (schemas/*.schema.json in the module folder).'
    Links       = @('Test-TrainableTokensConfig', 'about_TrainableTokens')
}
